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
import { expandEnvRefs, recordUnresolved, unresolvedRefs, type UnresolvedRef } from "./env-refs.ts";
import { parseJsonc } from "./jsonc.ts";
import { routingProblems } from "./routing-check.ts";
import { describeError } from "./schema-errors.ts";
import { formatKeyPath, pointerToParts } from "./key-path.ts";
import { GatewayConfigSchema, type GatewayConfig } from "./schema.ts";

export const CONFIG_FILE = "openclaw.json";

export interface LoadedConfig {
  readonly config: GatewayConfig;
  readonly file: string;
  readonly exists: boolean;
  /** The file's parsed content before env expansion and defaults (for `config show --raw`). */
  readonly raw: unknown;
  /** ${NAME} references whose variable is not set: their values are unusable until it is (env-refs.ts). */
  readonly unresolved: readonly UnresolvedRef[];
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
  // Missing variables are left for whatever uses their values to refuse (env-refs.ts).
  const config = buildGatewayConfig(raw, env, CONFIG_FILE, { deferMissing: true });
  if (overrides.host !== undefined) config.gateway.host = overrides.host;
  if (overrides.port !== undefined) config.gateway.port = overrides.port;
  return { config: deepFreeze(config), file, exists, raw, unresolved: unresolvedRefs(config) };
}

/**
 * Validates a parsed config object; errors name the file and the key path. A ${NAME} whose variable
 * is not set is a problem, unless `deferMissing`: then the value is recorded as unresolved (and
 * checks of it skipped) for its users to refuse with `requireResolved`.
 */
export function buildGatewayConfig(raw: unknown, env: Environment, label: string, opts: { deferMissing?: boolean } = {}): GatewayConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new AppError("CONFIG_INVALID", `${label}: the top level must be a JSON object`);
  }
  const missing: UnresolvedRef[] = [];
  const expanded = expandEnvRefs(structuredClone(raw), env, missing);
  const withDefaults = applyDefaults(GatewayConfigSchema, expanded) as GatewayConfig;
  const isUnresolved = (p: Problem) => missing.some((m) => m.path.length <= p.path.length && m.path.every((k, i) => p.path[i] === k));
  const problems = [...schemaProblems(GatewayConfigSchema, withDefaults), ...semanticProblems(withDefaults), ...routingProblems(withDefaults)].filter((p) => !isUnresolved(p));
  if (!opts.deferMissing) problems.unshift(...missing.map((m) => ({ path: m.path, message: `references \${${m.name}}, which is not set in the environment` })));
  if (problems.length > 0) throw configError(label, problems);
  recordUnresolved(withDefaults, missing, label);
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
    out.push({ path: pointerToParts(e.path), message: describeError(e) });
    if (out.length >= 20) break;
  }
  return out;
}

/** What a provider's kind needs besides baseUrl, and settings it does not take (never ignored silently). */
function providerKindProblems(name: string, p: GatewayConfig["providers"][string]): Problem[] {
  const out: Problem[] = [];
  const at = (key: string, message: string) => out.push({ path: ["providers", name, key], message });
  const needs: Record<string, string[]> = { "azure-openai": ["apiVersion", "apiKey"], bedrock: ["region", "accessKeyId", "secretAccessKey"] };
  const only: Record<string, string> = { apiVersion: "azure-openai", region: "bedrock", accessKeyId: "bedrock", secretAccessKey: "bedrock", sessionToken: "bedrock" };
  for (const key of needs[p.kind] ?? []) if (p[key as keyof typeof p] === undefined) at(key, `is required for kind "${p.kind}"`);
  for (const [key, kind] of Object.entries(only)) if (p[key as keyof typeof p] !== undefined && p.kind !== kind) at(key, `is only for kind "${kind}" providers`);
  // SigV4 signs with the configured keys; an apiKey would be a credential that is never used.
  if (p.kind === "bedrock" && p.apiKey !== undefined) at("apiKey", 'is not used by kind "bedrock" (it signs with accessKeyId and secretAccessKey)');
  return out;
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
    out.push(...providerKindProblems(name, provider));
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
  // An unpriced model would be served at no charge, past every dollar quota: only when the operator says so.
  for (const [name, model] of Object.entries(c.models)) {
    const priced = c.billing.rateCard[name] !== undefined;
    if (!priced && model.free !== true) {
      out.push({ path: ["models", name], message: `has no price: add billing.rateCard["${name}"] ({input, output} in USD per 1M tokens), or mark the model "free": true` });
    } else if (priced && model.free === true) {
      out.push({ path: ["models", name, "free"], message: `is true, but billing.rateCard["${name}"] prices the model: keep one of them` });
    }
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
  c.gateway.cron.webhookAllow.forEach((entry, i) => {
    try {
      parseEgressEntry(entry);
    } catch (err) {
      out.push({ path: ["gateway", "cron", "webhookAllow", i], message: (err as Error).message });
    }
  });
  c.gateway.channels.kinds.webhook.callbackAllow.forEach((entry, i) => {
    try {
      parseEgressEntry(entry);
    } catch (err) {
      out.push({ path: ["gateway", "channels", "kinds", "webhook", "callbackAllow", i], message: (err as Error).message });
    }
  });
  if (c.gateway.channels.secretKey !== undefined && c.gateway.channels.secretKey.length < 16) {
    out.push({ path: ["gateway", "channels", "secretKey"], message: "must be at least 16 characters (use 32+ random characters, e.g. `openssl rand -base64 32`)" });
  }
  c.gateway.mcp.remoteAllow.forEach((entry, i) => {
    try {
      parseEgressEntry(entry);
    } catch (err) {
      out.push({ path: ["gateway", "mcp", "remoteAllow", i], message: (err as Error).message });
    }
  });
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

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
