// The model catalogue: public model names → provider, upstream model and rates. A tenant sees the
// admin's models, narrowed (never widened) by its overlay's models.allow.
import type { GatewayConfig } from "../../config/schema.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import { FREE, type Rates } from "../usage/pricing.ts";

export interface ResolvedModel {
  name: string;
  providerName: string;
  provider: GatewayConfig["providers"][string];
  upstreamModel: string;
  maxOutputTokens: number;
  rates: Rates;
}

export function ratesFor(config: GatewayConfig, model: string): Rates {
  const r = config.billing.rateCard[model];
  if (!r) return FREE;
  return { input: r.input, output: r.output, cacheRead: r.cacheRead ?? 0, cacheWrite: r.cacheWrite ?? 0, reasoning: r.reasoning ?? r.output };
}

export function createModelsService(deps: { config: () => GatewayConfig; overlays: OverlaysService }) {
  function allowed(tenantId: string): string[] {
    const all = Object.keys(deps.config().models);
    const allow = deps.overlays.current(tenantId).models?.allow;
    return allow ? all.filter((m) => allow.includes(m)) : all;
  }

  return {
    /** Model names the tenant may use, in the admin's order. */
    listFor: allowed,

    /** The model if the tenant may use it; null for unknown and not-allowed alike. */
    resolve(tenantId: string, name: string): ResolvedModel | null {
      const config = deps.config();
      const m = config.models[name];
      if (!m || !allowed(tenantId).includes(name)) return null;
      const provider = config.providers[m.provider];
      if (!provider) return null;
      return {
        name,
        providerName: m.provider,
        provider,
        upstreamModel: m.upstreamModel,
        maxOutputTokens: m.maxOutputTokens ?? config.quotas.defaultMaxOutputTokens,
        rates: ratesFor(config, name),
      };
    },

    /** The tenant's default model (overlay models.default), if any. */
    defaultFor(tenantId: string): string | undefined {
      return deps.overlays.current(tenantId).models?.default;
    },
  };
}

export type ModelsService = ReturnType<typeof createModelsService>;
