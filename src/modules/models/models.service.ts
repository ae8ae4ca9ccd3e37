// The model catalogue: public model names → provider, upstream model and rates. A tenant sees the
// admin's models, narrowed (never widened) by its overlay's models.allow.
import type { GatewayConfig } from "../../config/schema.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { parseEgressEntry, type EgressRule } from "../../lib/egress-rules.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { FREE, type Rates } from "../usage/pricing.ts";

export interface ResolvedModel {
  name: string;
  providerName: string;
  provider: GatewayConfig["providers"][string];
  upstreamModel: string;
  maxOutputTokens: number;
  /** Whether maxOutputTokens is the model's own limit (configured) or the gateway's default cap. */
  outputLimitDeclared: boolean;
  /** The output-cap field the upstream model takes; null: the field the client used. */
  maxTokensField: "max_tokens" | "max_completion_tokens" | null;
  rates: Rates;
  /** The rates as recorded in each ledger row. */
  ratesJson: string;
  /** Opt-in chat fields the operator enabled for this model (models.<name>.passthrough). */
  passthrough: ReadonlySet<string>;
  /** Hosts whose https:// image URLs may reach this model's provider; null: data: URLs only. */
  imageRules: readonly EgressRule[] | null;
}

export function ratesFor(config: GatewayConfig, model: string): Rates {
  const r = config.billing.rateCard[model];
  if (!r) return FREE;
  return { input: r.input, output: r.output, cacheRead: r.cacheRead ?? 0, cacheWrite: r.cacheWrite ?? 0, reasoning: r.reasoning ?? r.output };
}

export function createModelsService(deps: { config: () => GatewayConfig; overlays: OverlaysService }) {
  // Resolved once per config: this runs on every routed request.
  let built: { config: GatewayConfig; names: string[]; models: Map<string, ResolvedModel> } | null = null;
  function catalogue() {
    const config = deps.config();
    if (built?.config === config) return built;
    const models = new Map<string, ResolvedModel>();
    for (const [name, m] of Object.entries(config.models)) {
      const provider = config.providers[m.provider];
      if (!provider) continue;
      const rates = ratesFor(config, name);
      const imageAllow = provider.imageUrls?.allow;
      models.set(name, {
        name,
        providerName: m.provider,
        provider,
        upstreamModel: m.upstreamModel,
        maxOutputTokens: m.maxOutputTokens ?? config.quotas.defaultMaxOutputTokens,
        outputLimitDeclared: m.maxOutputTokens !== undefined,
        maxTokensField: m.maxTokensField ?? null,
        rates,
        ratesJson: JSON.stringify(rates),
        passthrough: new Set(m.passthrough ?? []),
        imageRules: imageAllow && imageAllow.length > 0 ? imageAllow.map(parseEgressEntry) : null,
      });
    }
    built = { config, names: Object.keys(config.models), models };
    return built;
  }

  function allowed(tenant: TenantScope): string[] {
    const all = catalogue().names;
    const allow = deps.overlays.current(tenant).models?.allow;
    return allow ? all.filter((m) => allow.includes(m)) : all;
  }

  return {
    /** Model names the tenant may use, in the admin's order. */
    listFor: allowed,

    /** The model if the tenant may use it; null for unknown and not-allowed alike. */
    resolve(tenant: TenantScope, name: string): ResolvedModel | null {
      const model = catalogue().models.get(name);
      if (!model) return null;
      const allow = deps.overlays.current(tenant).models?.allow;
      return !allow || allow.includes(name) ? model : null;
    },

    /** The tenant's default model (overlay models.default), if any. */
    defaultFor(tenant: TenantScope): string | undefined {
      return deps.overlays.current(tenant).models?.default;
    },
  };
}

export type ModelsService = ReturnType<typeof createModelsService>;
