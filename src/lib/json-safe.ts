// Limits on JSON a caller sends, applied wherever the gateway parses or walks it (RPC, control
// plane, OpenAI routes, config files). Everything here is linear in the text's size: a check that
// grows faster than the input lets one small request hold the event loop — and so every tenant —
// for as long as it likes.

// Property names that mean something to JavaScript objects rather than to data. A JSON value that
// uses one as a key is refused wherever the gateway merges or assigns what a caller sent (overlays,
// RPC params, control-plane bodies, config files): `__proto__` assigned or merged sets an object's
// prototype instead of a key, so it would vanish from validation yet still be read through.
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * How deeply objects and arrays may nest in a JSON document the gateway reads (a top-level object
 * is depth 1). Nothing the gateway accepts needs more; deeper input only costs time and stack.
 */
export const DEFAULT_MAX_JSON_DEPTH = 64;

const STRICT_TOKENS = /[{}[\]"]/g;
const JSONC_TOKENS = /[{}[\]"/]/g;

/**
 * The offset of the first `{` or `[` in `text` that opens a level deeper than `limit`, or null.
 * One pass over the text, done before it is parsed: strings are skipped with indexOf (an escaped
 * quote is one preceded by an odd run of backslashes; each run is counted once), and with
 * `comments` so are JSONC comments. Malformed text is left to the parser to report.
 */
export function jsonDepthExcess(text: string, limit: number, opts: { comments?: boolean } = {}): number | null {
  const re = opts.comments ? JSONC_TOKENS : STRICT_TOKENS;
  re.lastIndex = 0;
  let depth = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const i = m.index;
    switch (text.charCodeAt(i)) {
      case 0x7b: // {
      case 0x5b: // [
        if (++depth > limit) return i;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        if (depth > 0) depth--;
        break;
      case 0x22: {
        // "
        let j = i + 1;
        for (;;) {
          j = text.indexOf('"', j);
          if (j < 0) return null;
          let k = j - 1;
          while (k > i && text.charCodeAt(k) === 0x5c) k--;
          if ((j - 1 - k) % 2 === 0) break;
          j++;
        }
        re.lastIndex = j + 1;
        break;
      }
      default: {
        // "/": a comment (JSONC only); anything else is the parser's to refuse.
        const next = text.charCodeAt(i + 1);
        if (next === 0x2f) {
          const end = text.indexOf("\n", i + 2);
          if (end < 0) return null;
          re.lastIndex = end + 1;
        } else if (next === 0x2a) {
          const end = text.indexOf("*/", i + 2);
          if (end < 0) return null;
          re.lastIndex = end + 2;
        }
      }
    }
  }
  return null;
}

/** The message for a document nested past `limit`; `setting` names the key that sets the limit. */
export function depthMessage(limit: number, setting?: string): string {
  return `JSON nested deeper than ${limit} levels of objects and arrays${setting ? ` (${setting})` : ""}`;
}

interface Frame {
  v: unknown;
  parent: Frame | null;
  key: string | number;
}

/**
 * The key path of the first reserved key anywhere in a parsed JSON value, or null. Iterative and
 * linear in the value's size: each entry keeps only its parent and its own key, and the path is
 * built only for the key that is reported.
 */
export function findReservedKey(value: unknown): (string | number)[] | null {
  const stack: Frame[] = [{ v: value, parent: null, key: "" }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.v;
    if (!v || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], parent: frame, key: i });
      continue;
    }
    // Own keys only: JSON.parse makes "__proto__" an own property, so it is seen here.
    const keys = Object.keys(v);
    for (const k of keys) if (RESERVED_KEYS.has(k)) return [...pathOf(frame), k];
    for (let i = keys.length - 1; i >= 0; i--) stack.push({ v: (v as Record<string, unknown>)[keys[i]!], parent: frame, key: keys[i]! });
  }
  return null;
}

function pathOf(frame: Frame): (string | number)[] {
  const out: (string | number)[] = [];
  for (let f: Frame | null = frame; f?.parent; f = f.parent) out.push(f.key);
  return out.reverse();
}

export const RESERVED_KEY_MESSAGE = `is a reserved name (${[...RESERVED_KEYS].join(", ")} are refused as keys)`;
