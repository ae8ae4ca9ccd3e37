// The matchers file_search runs on the gateway, all linear: a literal is found with indexOf, and a
// glob is matched by simulating its automaton (every state at once, one pass over the path), never
// by a backtracking regular expression built from the tenant's text. Regular expressions are not
// run here at all (./search-regex.ts runs them with grep in the tenant's sandbox).
export const MAX_PATTERN_CHARS = 200;

export type LineMatcher = (line: string) => boolean;

export function literalMatcher(pattern: string, ignoreCase: boolean): LineMatcher {
  if (!ignoreCase) return (line) => line.includes(pattern);
  const p = pattern.toLowerCase();
  return (line) => line.toLowerCase().includes(p);
}

type GlobToken = { kind: "char"; c: string } | { kind: "one" } | { kind: "star" } | { kind: "any" } | { kind: "segs" };

/** A glob (`*` within a path segment, `**` across them, `?` one character), anchored, on the relative path. */
export function globMatcher(glob: string): (relPath: string) => boolean {
  const toks: GlobToken[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      toks.push(glob[i + 2] === "/" ? { kind: "segs" } : { kind: "any" }); // **/ : zero or more whole segments
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") toks.push({ kind: "star" });
    else if (c === "?") toks.push({ kind: "one" });
    else toks.push({ kind: "char", c });
  }
  const m = toks.length;
  // State i: before token i; a "segs" token also has a mid-segment state (m + 1 + i).
  const size = 2 * m + 2;
  const close = (set: Uint8Array) => {
    for (let i = 0; i < m; i++) if (set[i] && toks[i]!.kind !== "char" && toks[i]!.kind !== "one") set[i + 1] = 1;
  };
  const match = (s: string) => {
    let cur = new Uint8Array(size);
    cur[0] = 1;
    close(cur);
    for (const ch of s) {
      const next = new Uint8Array(size);
      let any = false;
      for (let i = 0; i <= m; i++) {
        const t = toks[i];
        if (cur[i] && t) {
          if (t.kind === "char" && t.c === ch) next[i + 1] = 1;
          else if (t.kind === "one" && ch !== "/") next[i + 1] = 1;
          else if (t.kind === "star" && ch !== "/") next[i] = 1;
          else if (t.kind === "any") next[i] = 1;
          else if (t.kind === "segs") next[ch === "/" ? i : m + 1 + i] = 1;
        }
        if (t?.kind === "segs" && cur[m + 1 + i]) next[ch === "/" ? i : m + 1 + i] = 1;
      }
      close(next);
      for (let i = 0; i < size; i++) any ||= next[i] === 1;
      if (!any) return false;
      cur = next;
    }
    return cur[m] === 1;
  };
  // A glob without a slash matches the file's name, wherever it is.
  return glob.includes("/") ? (p) => match(p) : (p) => match(p.slice(p.lastIndexOf("/") + 1));
}
