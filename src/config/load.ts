// Gateway config: defaults ← <home>/openclaw.json ← ${ENV} references ← command-line flags.
// The result is validated, frozen and passed in; nothing else reads the file or the environment.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { AppError } from "../core/errors.ts";
import { parseEgressEntry } from "../lib/egress-rules.ts";
import type { Environment } from "./env.ts";
import { parseJsonc } from "./jsonc.ts";
import { formatKeyPath, pointerToParts } from "./key-path.ts";
import { GatewayConfigSchema, type GatewayConfig } from "./schema.ts";

export const CONFIG_FILE = "openclaw.json";

export interface LoadedConfig {
  readonly config: GatewayConfig;
  readonly file: string;
  readonly exists: boolean;
  /** The file's parsed content before env expansion and defaults (for `config show --raw`). */
  readonly raw: unknown;
}

export interface ConfigOverrides {
  host?: string;
  port?: number;
}

export function configPath(home: string): string {
  return path.join(home, CONFIG_FILE);
}

export function loadGatewayConfig(home: string, env: Environment, overrides: ConfigOverrides = {}): LoadedConfig {
  const file = configPath(home);
  let raw: unknown = {};
  let exists = false;
  if (fs.existsSync(file)) {
    exists = true;
    raw = parseJsonc(fs.readFileSync(file, "utf8"), CONFIG_FILE) ?? {};
  }
  const config = buildGatewayConfig(raw, env, CONFIG_FILE);
  if (overrides.host !== undefined) config.gateway.host = overrides.host;
  if (overrides.port !== undefined) config.gateway.port = overrides.port;
  return { config: deepFreeze(config), file, exists, raw };
}

/** Validates a parsed config object; errors name the file and the key path. */
export function buildGatewayConfig(raw: unknown, env: Environment, label: string): GatewayConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new AppError("CONFIG_INVALID", `${label}: the top level must be a JSON object`);
  }
  const expanded = expandEnvRefs(structuredClone(raw), env, label, []);
  const withDefaults = applyDefaults(GatewayConfigSchema, expanded) as GatewayConfig;
  const problems = schemaProblems(GatewayConfigSchema, withDefaults);
  problems.push(...semanticProblems(withDefaults));
  if (problems.length > 0) throw configError(label, problems);
  return withDefaults;
}

type WalkSchema = TSchema & { properties?: Record<string, TSchema>; patternProperties?: Record<string, TSchema> };

/** Value.Default, also inside record values (providers.*, models.*, billing.rateCard.*). */
export function applyDefaults(schema: TSchema, value: unknown): unknown {
  const out = Value.Default(schema, value);
  const s = schema as WalkSchema;
  if (!out || typeof out !== "object" || Array.isArray(out)) return out;
  const obj = out as Record<string, unknown>;
  if (s.properties) {
    for (const [k, sub] of Object.entries(s.properties)) if (k in obj) obj[k] = applyDefaults(sub, obj[k]);
  }
  if (s.patternProperties) {
    const [sub] = Object.values(s.patternProperties);
    if (sub) for (const k of Object.keys(obj)) obj[k] = applyDefaults(sub, obj[k]);
  }
  return obj;
}

export interface Problem {
  path: (string | number)[];
  message: string;
}

export function configError(label: string, problems: Problem[]): AppError {
  const lines = problems.map((p) => `${label}: "${formatKeyPath(p.path)}" ${p.message}`);
  return new AppError("CONFIG_INVALID", lines.join("\n"), {
    details: { file: label, problems: problems.map((p) => ({ path: formatKeyPath(p.path), message: p.message })) },
  });
}

export function schemaProblems(schema: TSchema, value: unknown): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of Value.Errors(schema, value)) {
    const key = `${e.path}|${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const parts = pointerToParts(e.path);
    const message = e.message === "Unexpected property" ? "is not a known key" : lowerFirst(e.message);
    out.push({ path: parts, message });
    if (out.length >= 20) break;
  }
  return out;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function semanticProblems(c: GatewayConfig): Problem[] {
  const out: Problem[] = [];
  for (const [name, model] of Object.entries(c.models)) {
    if (!c.providers[model.provider]) {
      out.push({ path: ["models", name, "provider"], message: `names provider "${model.provider}", which is not configured` });
    } else if (model.passthrough?.length && c.providers[model.provider]!.kind !== "openai") {
      out.push({ path: ["models", name, "passthrough"], message: `is only for models of kind "openai" providers (the Anthropic translation has no such fields)` });
    }
  }
  for (const [name, provider] of Object.entries(c.providers)) {
    if (provider.responses && provider.kind !== "openai") out.push({ path: ["providers", name, "responses"], message: `is only for kind "openai" providers (the Responses API is OpenAI's)` });
    provider.imageUrls?.allow.forEach((entry, i) => {
      try {
        parseEgressEntry(entry);
      } catch (err) {
        out.push({ path: ["providers", name, "imageUrls", "allow", i], message: (err as Error).message });
      }
    });
  }
  for (const name of Object.keys(c.billing.rateCard)) {
    if (!c.models[name]) out.push({ path: ["billing", "rateCard", name], message: "prices a model that is not configured" });
  }
  const allowed = c.sandbox.allowedModes ?? ["bwrap"];
  if (c.sandbox.mode && !allowed.includes(c.sandbox.mode)) {
    out.push({ path: ["sandbox", "mode"], message: `"${c.sandbox.mode}" is not in sandbox.allowedModes` });
  }
  for (const [tool, entries] of Object.entries(c.sandbox.egress?.tools ?? {})) {
    entries.forEach((entry, i) => {
      try {
        parseEgressEntry(entry);
      } catch (err) {
        out.push({ path: ["sandbox", "egress", "tools", tool, i], message: (err as Error).message });
      }
    });
  }
  if (c.backup.encryptionKey !== undefined && c.backup.encryptionKey.length < 16) {
    out.push({ path: ["backup", "encryptionKey"], message: "must be at least 16 characters (use 32+ random characters, e.g. `openssl rand -base64 32`)" });
  }
  c.sandbox.egress?.allowPrivate?.forEach((entry, i) => {
    if (!isIpOrCidr(entry)) out.push({ path: ["sandbox", "egress", "allowPrivate", i], message: `"${entry}" is not an IP address or CIDR` });
  });
  c.gateway.trustedProxies.forEach((entry, i) => {
    if (!isIpOrCidr(entry)) out.push({ path: ["gateway", "trustedProxies", i], message: `"${entry}" is not an IP address or CIDR` });
  });
  return out;
}

export function isIpOrCidr(entry: string): boolean {
  const [ip, bits, ...rest] = entry.split("/");
  if (rest.length > 0 || !ip) return false;
  const family = net.isIP(ip);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

const ENV_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces ${NAME} in every string value; `$${` escapes a literal `${`. A missing variable is an error. */
export function expandEnvRefs(value: unknown, env: Environment, label: string, at: (string | number)[]): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REF, (match, name: string | undefined) => {
      if (name === undefined) return "${";
      const v = env.vars[name];
      if (v === undefined) {
        throw new AppError("CONFIG_INVALID", `${label}: "${formatKeyPath(at)}" references \${${name}}, which is not set in the environment`);
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnvRefs(v, env, label, [...at, i]));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnvRefs(v, env, label, [...at, k]);
    return out;
  }
  return value;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
