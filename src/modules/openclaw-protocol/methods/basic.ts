// The simple protocol-v4 methods: health, status, agents.list, models.list, usage.cost — each the
// calling tenant's own view (its agents, models, sessions and ledger), never the host's or another
// tenant's: no paths, host names, presence of other connections or process figures.
import { DAY_MS, utcDayStart } from "../../../lib/time.ts";
import type { TenantScope } from "../../../edge/tenant-scope.ts";
import { V4Error, type V4Method } from "../methods.ts";
import type { V4Services } from "../needs.ts";

/** Upstream's conventions for the default agent and its main session (the clients build keys from them). */
export const DEFAULT_AGENT_ID = "main";
export const MAIN_KEY = "main";
export const MAIN_SESSION_KEY = `agent:${DEFAULT_AGENT_ID}:${MAIN_KEY}`;
const MAX_COST_DAYS = 366;

/** Sessions counted per agent for health (bounded: the count says "at least" past it). */
const HEALTH_SESSIONS_SCAN = 500;
const RECENT = 5;

/**
 * The tenant's health in upstream's HealthSnapshot shape (hello-ok's snapshot.health and `health`),
 * with only the tenant's own things: its agents and sessions. `path` is required by the schema and
 * left empty — a client is never told where anything is stored.
 */
export function tenantHealth(svc: V4Services, tenant: TenantScope, now: number) {
  const started = performance.now();
  const all: { key: string; updatedAt: number }[] = [];
  const agents = svc.runs.agents(tenant).map((a) => {
    const rows = svc.sessions.list(tenant, { agentId: a.id, limit: HEALTH_SESSIONS_SCAN }).sessions;
    all.push(...rows);
    return {
      agentId: a.id,
      isDefault: a.id === DEFAULT_AGENT_ID,
      heartbeat: { enabled: false, every: "0", everyMs: null, prompt: "", target: "none", ackMaxChars: 0 },
      sessions: { path: "", count: rows.length, recent: recent(rows, now) },
    };
  });
  return {
    ok: true as const,
    ts: now,
    durationMs: Math.max(0, Math.round(performance.now() - started)),
    channels: {},
    channelOrder: [],
    channelLabels: {},
    heartbeatSeconds: 0,
    defaultAgentId: DEFAULT_AGENT_ID,
    agents,
    sessions: { path: "", count: all.length, recent: recent(all, now) },
  };
}

function recent(rows: readonly { key: string; updatedAt: number }[], now: number) {
  return [...rows]
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, RECENT)
    .map((r) => ({ key: r.key, updatedAt: r.updatedAt, age: Math.max(0, now - r.updatedAt) }));
}

/** sessionDefaults of hello-ok's snapshot and agents.list: one owner (the tenant), the main agent. */
export const SESSION_DEFAULTS = { defaultAgentId: DEFAULT_AGENT_ID, modelConfigured: true, ownership: "sole", selectionRequired: false, mainKey: MAIN_KEY, mainSessionKey: MAIN_SESSION_KEY, scope: "per-sender" } as const;

function days(params: Record<string, unknown>): number {
  const d = params.days ?? 30;
  if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > MAX_COST_DAYS) throw new V4Error("INVALID_REQUEST", `invalid usage.cost params: days must be an integer from 1 to ${MAX_COST_DAYS}`);
  return d;
}

export function basicMethods(svc: V4Services): V4Method[] {
  const now = () => Date.now();
  return [
    {
      name: "health",
      scope: "operator.read",
      mutates: false,
      handle: async (ctx) => tenantHealth(svc, ctx.tenant, now()),
    },
    {
      name: "status",
      scope: "operator.read",
      mutates: false,
      handle: async (ctx) => {
        const usage = svc.sessions.usage(ctx.tenant) as { sessions: number; runs: number; inputTokens: number; outputTokens: number; costMicroUsd: number };
        return {
          ok: true,
          ts: now(),
          defaultAgentId: DEFAULT_AGENT_ID,
          agents: svc.runs.agents(ctx.tenant).map((a) => ({ agentId: a.id, isDefault: a.id === DEFAULT_AGENT_ID, model: a.model })),
          sessions: { count: usage.sessions, runs: usage.runs, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, costUsd: usage.costMicroUsd / 1_000_000 },
          activeRuns: svc.runs.activeCount(ctx.tenant.tenantId),
          models: svc.models.listFor(ctx.tenant),
        };
      },
    },
    {
      name: "agents.list",
      scope: "operator.read",
      mutates: false,
      handle: async (ctx) => ({
        defaultId: DEFAULT_AGENT_ID,
        ownership: SESSION_DEFAULTS.ownership,
        selectionRequired: false,
        mainKey: MAIN_KEY,
        scope: SESSION_DEFAULTS.scope,
        agents: svc.runs.agents(ctx.tenant).map((a) => ({
          id: a.id,
          name: a.id,
          kind: "agent",
          ...(a.model ?? svc.models.defaultFor(ctx.tenant) ? { model: { primary: (a.model ?? svc.models.defaultFor(ctx.tenant))! } } : {}),
        })),
      }),
    },
    {
      name: "models.list",
      scope: "operator.read",
      mutates: false,
      handle: async (ctx) => ({
        // The operator's provider entries are not the tenant's business (as on /v1/models): one provider name for all.
        models: svc.models.listFor(ctx.tenant).map((name) => ({ id: name, name, provider: "openclawmu" })),
      }),
    },
    {
      name: "usage.cost",
      scope: "operator.read",
      mutates: false,
      handle: async (ctx, params) => {
        const n = days(params);
        const t = now();
        const to = new Date(utcDayStart(t)).toISOString().slice(0, 10);
        const from = new Date(utcDayStart(t) - (n - 1) * DAY_MS).toISOString().slice(0, 10);
        const byDay = new Map<string, { date: string; input: number; output: number; cacheRead: number; cacheWrite: number; totalTokens: number; totalCost: number; missingCostEntries: number }>();
        for (const r of svc.usage.history({ tenant: ctx.tenant, from, to })) {
          const d = byDay.get(r.date) ?? { date: r.date, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, totalCost: 0, missingCostEntries: 0 };
          d.input += r.inputTokens;
          d.output += r.outputTokens;
          d.cacheRead += r.cacheReadTokens;
          d.cacheWrite += r.cacheWriteTokens;
          d.totalTokens += r.totalTokens;
          d.totalCost += r.costUsd;
          byDay.set(r.date, d);
        }
        const daily = [...byDay.values()].sort((a, b) => a.date.localeCompare(b.date));
        const totals = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, totalCost: 0, missingCostEntries: 0 };
        for (const d of daily) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += d[k];
        return { updatedAt: t, days: n, daily, totals };
      },
    },
  ];
}
