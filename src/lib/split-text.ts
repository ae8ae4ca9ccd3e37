// Splitting a long answer into the pieces a chat platform accepts (Telegram and WhatsApp 4096,
// Discord 2000, Slack ~4000). Lengths are counted in UTF-16 code units, which is never less than the
// characters the platforms count; a piece ends at the last newline, else the last space, in its second
// half, and never between the two halves of a surrogate pair.

export function splitText(text: string, max: number): string[] {
  if (!Number.isInteger(max) || max < 2) throw new RangeError("splitText: max must be an integer ≥ 2");
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf("\n", max);
    if (cut < max / 2) cut = rest.lastIndexOf(" ", max);
    if (cut < max / 2) cut = max;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // keep a surrogate pair together
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[\n ]/, "");
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}
