// Provider clients by name (one per kind: openai, anthropic, gemini, azure-openai, bedrock), built
// from the gateway config and rebuilt when it changes; and each
// model's router (router.ts) over its deployments, keys and circuit breakers.
import type { GatewayConfig } from "../../config/schema.ts";
import type { Logger } from "../../core/logger.ts";
import { unresolvedRefs } from "../../config/env-refs.ts";
import { AppError } from "../../core/errors.ts";
import { createAnthropicProvider } from "./anthropic.provider.ts";
import { createAzureProvider } from "./azure.provider.ts";
import { createBedrockProvider } from "./bedrock.provider.ts";
import { Breaker } from "./breaker.ts";
import { createGeminiProvider } from "./gemini.provider.ts";
import { KeyPool, type PoolKey } from "./key-pool.ts";
import { createOpenAiProvider } from "./openai.provider.ts";
import type { ChatProvider } from "./provider.ts";
import { createRouter, type Deployment, type RoutingMetrics, type RoutingPolicy } from "./router.ts";
import type { Telemetry } from "../telemetry/telemetry-hook.ts";

type ProviderConfig = GatewayConfig["providers"][string];

/** The client for each provider kind (config schema PROVIDER_KINDS). */
const KINDS: Record<ProviderConfig["kind"], (name: string, cfg: ProviderConfig) => ChatProvider> = {
  openai: createOpenAiProvider,
  anthropic: createAnthropicProvider,
  gemini: createGeminiProvider,
  "azure-openai": createAzureProvider,
  bedrock: createBedrockProvider,
};

function createProvider(n: string, cfg: ProviderConfig): ChatProvider {
  return KINDS[cfg.kind](n, cfg);
}

export interface ProvidersDeps {
  config: () => GatewayConfig;
  log?: Logger;
  now?: () => number;
  metrics?: RoutingMetrics;
  telemetry?: Telemetry;
  /** Tests pin the backoff's jitter. */
  random?: () => number;
}

export function createProvidersService(deps: ProvidersDeps) {
  let built: { config: GatewayConfig; providers: Map<string, ChatProvider> } | null = null;
  let routes: { config: GatewayConfig; routers: Map<string, ChatProvider>; keyed: Map<string, ChatProvider>; pools: Map<string, KeyPool | null> } | null = null;
  // Breakers outlive config reloads: a deployment that keeps failing stays skipped.
  const breakers = new Map<string, Breaker>();
  const now = deps.now ?? Date.now;
  const log = deps.log ?? (console as unknown as Logger);

  function get(name: string): ChatProvider | undefined {
    const config = deps.config();
    if (!built || built.config !== config) {
      const providers = new Map<string, ChatProvider>();
      for (const [n, cfg] of Object.entries(config.providers)) {
        providers.set(n, createProvider(n, cfg));
      }
      built = { config, providers };
    }
    // A provider whose config references an unset variable is not called (the serving gateway
    // refuses such a config outright; this holds for any other user of the service).
    if (built.providers.has(name) && unresolvedRefs(config, ["providers", name]).length > 0) {
      throw new AppError("UPSTREAM_ERROR", `provider "${name}" is not usable: its config references an environment variable that is not set`);
    }
    return built.providers.get(name);
  }

  function current() {
    const config = deps.config();
    if (!routes || routes.config !== config) routes = { config, routers: new Map(), keyed: new Map(), pools: new Map() };
    return routes;
  }

  function pool(providerName: string): KeyPool | null {
    const r = current();
    let p = r.pools.get(providerName);
    if (p === undefined) {
      const cfg = r.config.providers[providerName];
      p = cfg?.keys?.length ? new KeyPool(cfg.keys.map((k) => ({ name: k.name, apiKey: k.apiKey, weight: k.weight ?? 1 })), cfg.keyStrategy ?? "least-busy", now) : null;
      r.pools.set(providerName, p);
    }
    return p;
  }

  function client(providerName: string, key: PoolKey | null): ChatProvider {
    const base = get(providerName)!; // refuses a provider with an unresolved ${VAR}, keys included
    if (!key) return base;
    const r = current();
    const id = `${providerName}\u0000${key.name}`;
    let c = r.keyed.get(id);
    if (!c) r.keyed.set(id, (c = createProvider(providerName, { ...r.config.providers[providerName]!, apiKey: key.apiKey })));
    return c;
  }

  function policy(): RoutingPolicy {
    const p = deps.config().routing;
    return { retries: p.retries, backoffMs: p.backoffMs, maxBackoffMs: p.maxBackoffMs, breaker: { failures: p.breaker.failures, cooldownMs: p.breaker.cooldownSeconds * 1000 } };
  }

  return {
    get,

    /** The model's router: a ChatProvider over its deployments (undefined if the model or its provider is not configured). */
    forModel(modelName: string): ChatProvider | undefined {
      const r = current();
      const cached = r.routers.get(modelName);
      if (cached) return cached;
      const m = r.config.models[modelName];
      if (!m || !r.config.providers[m.provider]) return undefined;
      const list = [{ provider: m.provider, upstreamModel: m.upstreamModel, key: m.key }, ...(m.fallbacks ?? [])];
      const deployments: Deployment[] = list
        .filter((d) => r.config.providers[d.provider])
        .map((d) => ({ label: `${d.provider}/${d.upstreamModel}${d.key ? `#${d.key}` : ""}`, providerName: d.provider, upstreamModel: d.upstreamModel, cfg: r.config.providers[d.provider]!, pinnedKey: d.key }));
      const router = createRouter(modelName, deployments, {
        now,
        log,
        policy,
        client,
        pool,
        breaker: (label) => {
          let b = breakers.get(label);
          if (!b) breakers.set(label, (b = new Breaker(now)));
          return b;
        },
        metrics: deps.metrics,
        telemetry: deps.telemetry,
        random: deps.random,
      });
      r.routers.set(modelName, router);
      return router;
    },

    /** Key pools' in-flight counts (tests, diagnostics). */
    keysInFlight(providerName: string): Record<string, number> | null {
      return pool(providerName)?.inFlight() ?? null;
    },
  };
}

export type ProvidersService = ReturnType<typeof createProvidersService>;
