// The matchers file_search uses. A literal is found with indexOf (linear). A regular expression is
// accepted only in a subset without catastrophic backtracking: no backreferences or lookaround, no
// quantifier on a group that itself repeats or alternates (the (a+)+ and (a|a)* shapes), at most
// two long repeats (*, +, or a count over 16), and it is run on at most REGEX_LINE_CHARS of a line:
// one line then costs at most ~n³ steps (about 30 ms at 500 characters; at 1000, 0.25 s; three repeats took 70 s),
// and the search's time budget, checked between lines, bounds the whole.
import { AppError } from "../../../core/errors.ts";

export const MAX_PATTERN_CHARS = 200;
export const REGEX_LINE_CHARS = 500;

export type LineMatcher = (line: string) => boolean;

export function literalMatcher(pattern: string, ignoreCase: boolean): LineMatcher {
  if (!ignoreCase) return (line) => line.includes(pattern);
  const p = pattern.toLowerCase();
  return (line) => line.toLowerCase().includes(p);
}

/** Throws INVALID_PARAMS naming the construct when the pattern is outside the safe subset. */
export function regexMatcher(pattern: string, ignoreCase: boolean): LineMatcher {
  if (pattern.length > MAX_PATTERN_CHARS) throw new AppError("INVALID_PARAMS", `pattern is longer than ${MAX_PATTERN_CHARS} characters`);
  checkSafe(pattern);
  let re: RegExp;
  try {
    re = new RegExp(pattern, ignoreCase ? "iu" : "u");
  } catch (err) {
    throw new AppError("INVALID_PARAMS", `pattern is not a valid regular expression: ${(err as Error).message}`);
  }
  return (line) => re.test(line.length > REGEX_LINE_CHARS ? line.slice(0, REGEX_LINE_CHARS) : line);
}

function checkSafe(p: string): void {
  const refuse = (what: string) => {
    throw new AppError("INVALID_PARAMS", `pattern uses ${what}, which can take exponential time; use a literal search or a simpler expression`);
  };
  // Per open group: does it contain a repeat or an alternation?
  const groups: { repeats: boolean; alternates: boolean }[] = [];
  let unbounded = 0;
  let lastWasGroup: { repeats: boolean; alternates: boolean } | null = null;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    let closed: { repeats: boolean; alternates: boolean } | null = null;
    if (c === "\\") {
      const n = p[i + 1] ?? "";
      if (/[1-9]/.test(n) || n === "k") refuse("a backreference");
      i++;
    } else if (c === "[") {
      // Skip the character class (escapes inside it included).
      for (i++; i < p.length && p[i] !== "]"; i++) if (p[i] === "\\") i++;
    } else if (c === "(") {
      if (p.startsWith("(?=", i) || p.startsWith("(?!", i) || p.startsWith("(?<=", i) || p.startsWith("(?<!", i)) refuse("lookaround");
      groups.push({ repeats: false, alternates: false });
    } else if (c === ")") {
      closed = groups.pop() ?? null;
      if (closed && groups.length > 0) {
        groups[groups.length - 1]!.repeats ||= closed.repeats;
        groups[groups.length - 1]!.alternates ||= closed.alternates;
      }
    } else if (c === "|") {
      if (groups.length > 0) groups[groups.length - 1]!.alternates = true;
    } else if (c === "*" || c === "+" || c === "?" || c === "{") {
      let isUnbounded = c === "*" || c === "+";
      if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
        if (!m) continue;
        isUnbounded = (m[2] !== undefined && m[3] === "") || Number(m[3] ?? m[1]) > 16;
        if (Number(m[1]) > 1000 || (m[3] && Number(m[3]) > 1000)) refuse("a repeat count over 1000");
        i += m[0].length - 1;
      }
      if (p[i + 1] === "?") i++; // lazy
      if (lastWasGroup && (lastWasGroup.repeats || lastWasGroup.alternates)) refuse(lastWasGroup.repeats ? "a repeated group that itself repeats" : "a repeated group with alternatives");
      if (isUnbounded && ++unbounded > 2) refuse("more than two long repeats (*, + or a count over 16)");
      if (groups.length > 0) groups[groups.length - 1]!.repeats = true;
      lastWasGroup = null;
      continue;
    }
    lastWasGroup = closed;
  }
}

/** A glob (`*` within a path segment, `**` across them, `?` one character) as an anchored regex on the relative path. */
export function globMatcher(glob: string): (relPath: string) => boolean {
  let src = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      src += glob[i + 2] === "/" ? "(?:[^/]*/)*" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") src += "[^/]*";
    else if (c === "?") src += "[^/]";
    else src += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  const re = new RegExp(`^${src}$`);
  // A glob without a slash matches the file's name, wherever it is.
  return glob.includes("/") ? (p) => re.test(p) : (p) => re.test(p.slice(p.lastIndexOf("/") + 1));
}
