// A terminal's output on its way to the attached connection, held to the tenant's byte budget
// (gateway.websocket.tenantAnswerBytesPerSecond) as every answer to the tenant is: a shell printing as
// fast as it can would otherwise cost a core of the gateway's CPU and the tenant's bandwidth share
// with no bound (red team 19, F3). The PTY cannot be paused (Bun's terminal pushes what it reads), so
// the output waits in the 64 KiB replay the terminal keeps anyway: once the budget allows, what was
// not told yet is sent at once — or, if the replay no longer holds all of it, a notice and the replay.

/** Output kept for terminal.attach (characters of decoded text). */
export const REPLAY_CHARS = 64 * 1024;

/** Told in place of output the replay no longer held when the budget allowed sending again. */
export const SKIPPED_NOTICE = "\r\n\x1b[0m[output skipped: more than this tenant's byte budget (gateway.websocket.tenantAnswerBytesPerSecond) allows]\r\n";

/** How long held output waits before the budget is looked at again. */
export const HOLD_MS = 100;

export interface Replay {
  replay: string[];
  replayChars: number;
}

/** Appends to the replay, dropping its oldest characters past REPLAY_CHARS. */
export function pushReplay(r: Replay, text: string): void {
  r.replay.push(text);
  r.replayChars += text.length;
  while (r.replayChars > REPLAY_CHARS && r.replay.length > 0) {
    const over = r.replayChars - REPLAY_CHARS;
    const first = r.replay[0]!;
    if (first.length <= over) {
      r.replay.shift();
      r.replayChars -= first.length;
    } else {
      r.replay[0] = first.slice(over);
      r.replayChars -= over;
    }
  }
}

/**
 * Characters of output that fit in `room` bytes of budget once sent as JSON (a control character
 * becomes six bytes), less the notification's own; 0 when too little is left to be worth a message.
 */
export function charsFor(room: number): number {
  const chars = Math.floor((room - 256) / 6);
  return chars >= 256 ? chars : 0;
}

/**
 * The last `unsent` characters of output, from the replay — or, when the replay no longer holds them
 * all or they are more than `max`, the notice and the last characters that fit.
 */
export function unsentTail(r: Replay, unsent: number, max: number): string {
  const skip = unsent > r.replayChars || unsent > max;
  const want = skip ? Math.min(r.replayChars, max - SKIPPED_NOTICE.length) : unsent;
  // From the end (usually just the last piece): never the whole replay per chunk of output.
  const parts: string[] = [];
  let need = want;
  for (let i = r.replay.length - 1; need > 0 && i >= 0; i--) {
    const piece = r.replay[i]!;
    parts.push(piece.length <= need ? piece : piece.slice(piece.length - need));
    need -= Math.min(need, piece.length);
  }
  return (skip ? SKIPPED_NOTICE : "") + parts.reverse().join("");
}
