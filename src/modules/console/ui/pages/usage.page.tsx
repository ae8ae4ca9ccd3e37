// The tenant's usage and cost: per day (chart and table, by model), this month per model, and its
// quota status (limits, what is used today, what remains, when the counters reset).
import { useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { BarChart, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, when } from "../lib/ui.tsx";

interface Row {
  date: string;
  model: string;
  requests: number;
  totalTokens: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

interface Summary {
  today: { date: string; requests: number; totalTokens: number; costUsd: number };
  month: { month: string; requests: number; totalTokens: number; costUsd: number };
  byModel: { model: string; requests: number; totalTokens: number; costUsd: number }[];
  sandbox?: Record<string, unknown>;
}

interface QuotaStatus {
  limits: Record<string, number | null>;
  source: Record<string, string>;
  day: { resetsAt: string };
  usage: { usedTokensToday?: number; usedCostTodayUsd?: number; requestsLastMinute?: number; inFlight?: number; remaining?: Record<string, number | null>; resetsAt?: string };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const usd = (n: number) => `$${n.toFixed(n >= 1 ? 2 : 4)}`;

/** One value per day from..to (days with no use are 0, so the chart's axis is time). */
function perDay(rows: Row[], from: string, to: string, pick: (r: Row) => number): { label: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(r.date, (sums.get(r.date) ?? 0) + pick(r));
  const out: { label: string; value: number }[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 86_400_000) out.push({ label: day(t).slice(5), value: sums.get(day(t)) ?? 0 });
  return out;
}

const QUOTA_USED: Record<string, (u: QuotaStatus["usage"]) => number | undefined> = {
  tokensPerDay: (u) => u.usedTokensToday,
  costPerDayUsd: (u) => u.usedCostTodayUsd,
  requestsPerMinute: (u) => u.requestsLastMinute,
  maxConcurrent: (u) => u.inFlight,
};
const QUOTA_REMAINING: Record<string, string> = { tokensPerDay: "tokensToday", costPerDayUsd: "costTodayUsd", requestsPerMinute: "requestsThisMinute", maxConcurrent: "concurrent" };

function Quotas({ api }: { api: Api }) {
  const q = useAsync(() => api.rpc<QuotaStatus>("tenants.quota.status"), []);
  if (q.loading && !q.data) return <Loading label="Loading quota status…" />;
  if (q.error) return <ErrorBox error={q.error} retry={q.reload} />;
  const s = q.data!;
  const rows = Object.entries(s.limits).map(([name, limit]) => {
    const used = QUOTA_USED[name]?.(s.usage);
    const remaining = s.usage.remaining?.[QUOTA_REMAINING[name] ?? ""];
    return { name, limit, used, remaining, source: s.source[name] ?? "" };
  });
  return (
    <section class="card" aria-labelledby="quota-title">
      <h2 id="quota-title">Quota status</h2>
      <DataTable
        caption="Limits and use today"
        rows={rows}
        empty="No quotas apply."
        columns={[
          { key: "name", label: "Limit" },
          { key: "limit", label: "Value", num: true, render: (r) => (r.limit === null ? "unlimited" : String(r.limit)) },
          { key: "used", label: "Used", num: true, render: (r) => (r.used === undefined ? "" : String(Math.round(r.used * 1e4) / 1e4)) },
          {
            key: "remaining",
            label: "Remaining",
            num: true,
            render: (r) => (r.remaining === undefined || r.remaining === null ? "—" : <span class={r.remaining === 0 ? "bad" : "ok"}>{String(Math.round(r.remaining * 1e4) / 1e4)}</span>),
          },
          { key: "source", label: "Set by" },
        ]}
      />
      <p class="muted">Daily counters reset at {when(s.day.resetsAt)}.</p>
    </section>
  );
}

function Usage({ api }: { api: Api }) {
  const today = day(Date.now());
  const [from, setFrom] = useState(day(Date.now() - 29 * 86_400_000));
  const [to, setTo] = useState(today);
  const [range, setRange] = useState({ from, to });
  const summary = useAsync(() => api.rpc<Summary>("tenants.usage"), []);
  const history = useAsync(() => api.rpc<{ days: Row[] }>("tenants.usage.history", range), [range.from, range.to]);
  const rows = history.data?.days ?? [];
  const apply = (e: Event) => {
    e.preventDefault();
    setRange({ from, to });
  };
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Usage"
        actions={
          <button
            type="button"
            onClick={() => {
              summary.reload();
              history.reload();
            }}
          >
            Refresh
          </button>
        }
      />
      {summary.loading && !summary.data && <Loading label="Loading totals…" />}
      {summary.error !== null && <ErrorBox error={summary.error} retry={summary.reload} />}
      {summary.data && (
        <div class="row">
          <div class="card">
            <h2>Today ({summary.data.today.date})</h2>
            <p>
              {usd(summary.data.today.costUsd)} · {summary.data.today.totalTokens} tokens · {summary.data.today.requests} requests
            </p>
          </div>
          <div class="card">
            <h2>This month ({summary.data.month.month})</h2>
            <p>
              {usd(summary.data.month.costUsd)} · {summary.data.month.totalTokens} tokens · {summary.data.month.requests} requests
            </p>
          </div>
        </div>
      )}
      <form class="row card" onSubmit={apply}>
        <Field label="From">
          <input type="date" value={from} max={to} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="To">
          <input type="date" value={to} min={from} max={today} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </Field>
        <button type="submit">Show</button>
      </form>
      {history.loading && <Loading label="Loading usage per day…" />}
      {history.error !== null && <ErrorBox error={history.error} retry={history.reload} />}
      {history.data && (
        <>
          <BarChart title="Cost per day" unit="USD" data={perDay(rows, range.from, range.to, (r) => r.costUsd)} />
          <BarChart title="Tokens per day" unit="tokens" data={perDay(rows, range.from, range.to, (r) => r.totalTokens)} />
          {summary.data && <BarChart title="Cost this month per model" unit="USD" data={summary.data.byModel.map((m) => ({ label: m.model, value: m.costUsd }))} />}
          <DataTable<Row>
            caption="Usage per day and model"
            rows={rows}
            empty="No usage in this range."
            columns={[
              { key: "date", label: "Day" },
              { key: "model", label: "Model" },
              { key: "requests", label: "Requests", num: true },
              { key: "inputTokens", label: "Input tokens", num: true },
              { key: "outputTokens", label: "Output tokens", num: true },
              { key: "costUsd", label: "Cost", num: true, render: (r) => usd(r.costUsd) },
            ]}
          />
        </>
      )}
      <Quotas api={api} />
    </section>
  );
}

export default definePage({ id: "usage", component: Usage });
