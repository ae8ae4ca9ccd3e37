// A gateway routing to the fake provider, listening for real (the OpenAI SDK needs a URL).
import OpenAI from "openai";
import type { Clock } from "../../src/core/clock.ts";
import type { Core } from "../../src/app/core.ts";
import { startGateway, type GatewayHandle } from "../../src/http/gateway.ts";
import { startFakeProvider, type FakeProvider } from "../fake-provider/fake-provider.ts";
import { createTenant, testCore } from "./core.ts";

export interface ChatWorld {
  core: Core;
  fake: FakeProvider;
  gw: GatewayHandle;
  token: string;
  client: (token?: string) => OpenAI;
  post: (body: unknown, token?: string, init?: RequestInit) => Promise<Response>;
  close: () => Promise<void>;
}

export const RATES = { input: 1, output: 2, cacheRead: 0.5, cacheWrite: 1.25, reasoning: 3 };

export async function chatWorld(opts: { quota?: Record<string, unknown>; config?: Record<string, any>; clock?: Clock; tenant?: string } = {}): Promise<ChatWorld> {
  const fake = startFakeProvider();
  const config = {
    gateway: { port: 0, ...(opts.config?.gateway ?? {}) },
    providers: {
      local: { kind: "openai", baseUrl: `${fake.url}/v1`, apiKey: "sk-upstream", timeoutMs: 5_000 },
      claude: { kind: "anthropic", baseUrl: fake.url, apiKey: "ak-upstream", timeoutMs: 5_000 },
      dead: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", timeoutMs: 2_000 },
      // Extra providers (a URL of "FAKE" is the fake provider's).
      ...Object.fromEntries(Object.entries(opts.config?.providers ?? {}).map(([k, v]: [string, any]) => [k, { ...v, baseUrl: String(v.baseUrl).replace("FAKE", fake.url) }])),
    },
    models: {
      "gpt-4o-mini": { provider: "local", upstreamModel: "fake-mini" },
      "claude-x": { provider: "claude", upstreamModel: "claude-upstream" },
      "dead-model": { provider: "dead", upstreamModel: "nothing" },
      ...(opts.config?.models ?? {}),
    },
    billing: { rateCard: { "gpt-4o-mini": RATES, "claude-x": RATES } },
    quotas: { defaults: { tokensPerDay: null, costPerDayUsd: null, requestsPerMinute: null, maxConcurrent: null }, ...(opts.config?.quotas ?? {}) },
    ...Object.fromEntries(Object.entries(opts.config ?? {}).filter(([k]) => !["gateway", "quotas", "providers", "models"].includes(k))),
  };
  // The gateway refuses a model with no price unless it is marked free: test models left unpriced are free.
  const priced = (config as { billing?: { rateCard?: Record<string, unknown> } }).billing?.rateCard ?? {};
  for (const [name, m] of Object.entries(config.models as Record<string, Record<string, unknown>>)) {
    if (!(name in priced) && m.free === undefined) config.models[name as keyof typeof config.models] = { ...m, free: true } as never;
  }
  const core = testCore({ config, clock: opts.clock });
  const id = opts.tenant ?? "acme";
  const token = core.tenants.create({ id, quota: opts.quota as never }, { actor: { kind: "operator", id: "test" }, requestId: "req_test" }).token;
  const gw = startGateway(core);
  return {
    core,
    fake,
    gw,
    token,
    client: (t = token) => new OpenAI({ apiKey: t, baseURL: `${gw.url}/v1`, maxRetries: 0 }),
    post: (body, t = token, init = {}) =>
      fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: JSON.stringify(body), ...init }),
    close: async () => {
      await gw.stop();
      fake.stop();
    },
  };
}

export { createTenant };

export function ledgerRows(core: Core): any[] {
  core.ledger.flush();
  return core.handle.sqlite.query("SELECT * FROM usage_ledger ORDER BY started_at, rowid").all();
}

/** The error a promise (or the SDK's APIPromise, which bun's `rejects` mishandles) rejects with. */
export async function errorOf(p: PromiseLike<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

/**
 * The input bound admission reserves for `body` (computed by the gateway from the exact upstream
 * payload), read from the ledger row of one request in a world of its own.
 */
export async function inputBoundOf(body: Record<string, unknown>): Promise<number> {
  const w = await chatWorld();
  try {
    const res = await w.post(body);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`probe request failed with ${res.status}`);
    return ledgerRows(w.core).at(-1).input_bound;
  } finally {
    await w.close();
  }
}
