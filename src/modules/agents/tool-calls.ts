// What the model asked for, made safe to send back. The loop replays every tool call into the next
// model request (and later turns replay them from the transcript); the providers' wire formats refuse
// names, ids and arguments outside their rules (Anthropic Messages: names and ids of [A-Za-z0-9_-],
// arguments a JSON object, a bounded count), and a refusal would end the run — and every later turn of
// the session, since the transcript keeps the call. So a model's call is normalised once, here, before
// it enters the conversation: a bad id is re-minted, a bad name or bad arguments become a call the
// loop answers with an error result (the model reads why and recovers), and calls past the per-step
// cap are dropped with a note. A prompt-injected "call tool x.y" cannot break a tenant's session.

export const MAX_CALLS_PER_STEP = 32;
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const ID = /^[a-zA-Z0-9_-]{1,64}$/;
/** The name sent upstream in place of one the wire formats refuse. */
export const INVALID_NAME = "invalid_tool_name";

export interface ModelCall {
  id: string;
  name: string;
  arguments: string;
}

export interface SafeCall extends ModelCall {
  /** Why the call is answered with an error instead of run (the model's own mistake, in words). */
  problem?: string;
}

export function safeCalls(calls: readonly ModelCall[], step: number): { calls: SafeCall[]; dropped: number } {
  const seen = new Set<string>();
  const out: SafeCall[] = [];
  for (const [i, c] of calls.slice(0, MAX_CALLS_PER_STEP).entries()) {
    let id = typeof c.id === "string" && ID.test(c.id) && !seen.has(c.id) ? c.id : `call_${step}_${i}`;
    while (seen.has(id)) id = `${id}_`.slice(-64);
    seen.add(id);
    const name = typeof c.name === "string" ? c.name : "";
    const raw = typeof c.arguments === "string" ? c.arguments : "";
    if (!NAME.test(name)) {
      out.push({ id, name: INVALID_NAME, arguments: "{}", problem: `the tool name ${JSON.stringify(name.slice(0, 80))} is not valid (1 to 64 letters, digits, "_" or "-"); no tool was run` });
      continue;
    }
    let args: unknown;
    try {
      args = raw.trim() === "" ? {} : JSON.parse(raw);
    } catch {
      out.push({ id, name, arguments: "{}", problem: "the arguments are not valid JSON" });
      continue;
    }
    if (!args || typeof args !== "object" || Array.isArray(args)) {
      out.push({ id, name, arguments: "{}", problem: "the arguments must be a JSON object" });
      continue;
    }
    out.push({ id, name, arguments: raw.trim() === "" ? "{}" : raw });
  }
  return { calls: out, dropped: Math.max(0, calls.length - MAX_CALLS_PER_STEP) };
}
