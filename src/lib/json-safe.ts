// Property names that mean something to JavaScript objects rather than to data. A JSON value that
// uses one as a key is refused wherever the gateway merges or assigns what a caller sent (overlays,
// RPC params, control-plane bodies, config files): `__proto__` assigned or merged sets an object's
// prototype instead of a key, so it would vanish from validation yet still be read through.
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** The key path of the first reserved key anywhere in a parsed JSON value, or null. No recursion. */
export function findReservedKey(value: unknown): (string | number)[] | null {
  const stack: { v: unknown; at: (string | number)[] }[] = [{ v: value, at: [] }];
  while (stack.length > 0) {
    const { v, at } = stack.pop()!;
    if (!v || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], at: [...at, i] });
      continue;
    }
    // Own keys only: JSON.parse makes "__proto__" an own property, so it is seen here.
    const keys = Object.keys(v);
    for (const k of keys) if (RESERVED_KEYS.has(k)) return [...at, k];
    for (let i = keys.length - 1; i >= 0; i--) stack.push({ v: (v as Record<string, unknown>)[keys[i]!], at: [...at, keys[i]!] });
  }
  return null;
}

export const RESERVED_KEY_MESSAGE = `is a reserved name (${[...RESERVED_KEYS].join(", ")} are refused as keys)`;
