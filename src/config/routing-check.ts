// Semantic checks of the reliable-routing settings (README "Reliable routing"): every deployment names
// a configured provider of the model's own kind, every pinned key exists, and a provider has either
// apiKey or a key pool, never both.
import type { Problem } from "./load.ts";
import type { GatewayConfig } from "./schema.ts";

export function routingProblems(c: GatewayConfig): Problem[] {
  const out: Problem[] = [];
  const keyCheck = (path: (string | number)[], providerName: string, key: string | undefined) => {
    if (key === undefined) return;
    const p = c.providers[providerName];
    if (p && !(Array.isArray(p.keys) && p.keys.some((k) => k?.name === key))) out.push({ path, message: `names key "${key}", which provider "${providerName}" does not list in its keys` });
  };
  for (const [name, model] of Object.entries(c.models)) {
    keyCheck(["models", name, "key"], model.provider, model.key);
    const kind = c.providers[model.provider]?.kind;
    // Runs on configs the schema refused too (its problems are reported together): shapes are not trusted.
    (Array.isArray(model.fallbacks) ? model.fallbacks : []).forEach((d, i) => {
      const p = d && typeof d.provider === "string" ? c.providers[d.provider] : undefined;
      if (!d || typeof d.provider !== "string") return;
      if (!p) out.push({ path: ["models", name, "fallbacks", i, "provider"], message: `names provider "${d.provider}", which is not configured` });
      // What a tenant may send is vetted per provider kind: a deployment of another kind could drop or misread it.
      else if (kind && p.kind !== kind) out.push({ path: ["models", name, "fallbacks", i, "provider"], message: `is of kind "${p.kind}", but the model's provider "${model.provider}" is of kind "${kind}" (a model's deployments must share one kind)` });
      keyCheck(["models", name, "fallbacks", i, "key"], d.provider, d.key);
    });
  }
  for (const [name, p] of Object.entries(c.providers)) {
    if (p.keys && p.apiKey !== undefined) out.push({ path: ["providers", name, "keys"], message: "set either apiKey or keys, not both" });
    // Bedrock signs with AWS credentials, not an API key: a pool of keys would be silently unused.
    if (p.keys && (p.kind as string) === "bedrock") out.push({ path: ["providers", name, "keys"], message: 'is not taken by kind "bedrock" (it signs with accessKeyId and secretAccessKey)' });
    const seen = new Set<string>();
    (Array.isArray(p.keys) ? p.keys : []).forEach((k, i) => {
      if (!k || typeof k.name !== "string") return;
      if (seen.has(k.name)) out.push({ path: ["providers", name, "keys", i, "name"], message: `"${k.name}" is listed twice` });
      seen.add(k.name);
    });
  }
  return out;
}
