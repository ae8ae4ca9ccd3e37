// Dotted key paths for error messages: ["providers","openai","apiKey"] → providers.openai.apiKey,
// with bracketed indexes for arrays and quoting for keys that would be ambiguous.
export function formatKeyPath(parts: readonly (string | number)[]): string {
  let out = "";
  for (const p of parts) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z0-9_$-]+$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out || "(root)";
}

/** TypeBox error paths are JSON pointers ("/gateway/port"); turn them into key-path parts. */
export function pointerToParts(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .split("/")
    .slice(1)
    .map((seg) => seg.replaceAll("~1", "/").replaceAll("~0", "~"))
    .map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
}
