// ${NAME} references in openclaw.json, resolved from the environment. A reference to a variable that
// is not set does not stop the config from loading: a command that never uses the value (`tenants
// list`, `admin-key rotate`) must not need the providers' keys exported. The value stays unresolved,
// recorded by key path, and whatever uses it asks first (`requireResolved`): the serving gateway
// needs everything, a backup needs backup.*, a provider call needs its provider.
import { AppError } from "../core/errors.ts";
import type { Environment } from "./env.ts";
import { formatKeyPath } from "./key-path.ts";

export interface UnresolvedRef {
  path: (string | number)[];
  name: string;
}

const ENV_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** The references each loaded config left unresolved (configs are frozen: kept beside, not inside). */
const unresolvedOf = new WeakMap<object, readonly UnresolvedRef[]>();

/** Replaces ${NAME} in every string value; `$${` escapes a literal `${`. A missing variable is recorded in `missing`, its string kept as written. */
export function expandEnvRefs(value: unknown, env: Environment, missing: UnresolvedRef[], at: (string | number)[] = []): unknown {
  if (typeof value === "string") {
    let unset = false;
    const out = value.replace(ENV_REF, (match, name: string | undefined) => {
      if (name === undefined) return "${";
      const v = env.vars[name];
      if (v === undefined) {
        missing.push({ path: at, name });
        unset = true;
        return match;
      }
      return v;
    });
    return unset ? value : out;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnvRefs(v, env, missing, [...at, i]));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnvRefs(v, env, missing, [...at, k]);
    return out;
  }
  return value;
}

export function missingMessage(label: string, ref: UnresolvedRef): string {
  return `${label}: "${formatKeyPath(ref.path)}" references \${${ref.name}}, which is not set in the environment`;
}

export function recordUnresolved(config: object, refs: readonly UnresolvedRef[], label: string): void {
  unresolvedOf.set(config, refs.map((r) => Object.freeze({ ...r, label })));
}

/** Whether `path` is `prefix` or below it. */
const under = (path: (string | number)[], prefix: (string | number)[]) => prefix.every((p, i) => path[i] === p);

/** The config's unresolved references at or below `prefix` (all of them by default). */
export function unresolvedRefs(config: object, prefix: (string | number)[] = []): readonly UnresolvedRef[] {
  return (unresolvedOf.get(config) ?? []).filter((r) => under(r.path, prefix));
}

/** Throws CONFIG_INVALID naming every variable the values at or below `prefix` need and do not have. */
export function requireResolved(config: object, prefix: (string | number)[] = []): void {
  const refs = unresolvedRefs(config, prefix) as (UnresolvedRef & { label?: string })[];
  if (refs.length === 0) return;
  throw new AppError("CONFIG_INVALID", refs.map((r) => missingMessage(r.label ?? "openclaw.json", r)).join("\n"), {
    details: { missing: refs.map((r) => ({ path: formatKeyPath(r.path), variable: r.name })) },
  });
}
