// Usage across tenants: cost and tokens per tenant and per day over a date range, as SVG charts and
// tables, and the CSV export — the columns of `openclaw usage --csv`, made in the browser from the
// admin API's JSON and saved as a Blob (nothing secret travels in a URL).
import { useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { BarChart, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync } from "../lib/ui.tsx";
import { csvField, saveFile, usd, utcDate, val } from "./kit.tsx";

interface Totals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  costMicroUsd: number;
  costUsd: number;
}
type TenantRow = Totals & { tenantId: string; incarnation: string };
type DayRow = TenantRow & { date: string; model: string };

/** The CSV columns, as `openclaw usage --csv` writes them (the README documents them). */
const CSV_COLUMNS = ["date", "tenant", "model", "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "total_tokens", "cost_usd", "incarnation"];

export function usageCsv(rows: DayRow[]): string {
  const out = [CSV_COLUMNS.join(",")];
  for (const r of rows)
    out.push(
      [r.date, r.tenantId, r.model, r.requests, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens, r.reasoningTokens, r.totalTokens, (r.costMicroUsd / 1_000_000).toFixed(6), r.incarnation]
        .map(csvField)
        .join(","),
    );
  return `${out.join("\n")}\n`;
}

function perDay(rows: DayRow[], from: string, to: string): { label: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(r.date, (sums.get(r.date) ?? 0) + r.costUsd);
  const out: { label: string; value: number }[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 86_400_000) out.push({ label: utcDate(t).slice(5), value: sums.get(utcDate(t)) ?? 0 });
  return out;
}

function UsageAll({ api }: { api: Api }) {
  const today = utcDate(Date.now());
  const [from, setFrom] = useState(utcDate(Date.now() - 29 * 86_400_000));
  const [to, setTo] = useState(today);
  const [range, setRange] = useState({ from, to });
  const q = `from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`;
  const byTenant = useAsync(() => api.admin<{ tenants: TenantRow[] }>("GET", `/usage?${q}`), [q]);
  const daily = useAsync(() => api.admin<{ days: DayRow[] }>("GET", `/usage/daily?${q}`), [q]);
  const tenants = byTenant.data?.tenants ?? [];
  const days = daily.data?.days ?? [];
  const label = (t: TenantRow) => (tenants.filter((x) => x.tenantId === t.tenantId).length > 1 ? `${t.tenantId} (${t.incarnation.slice(0, 6)})` : t.tenantId);
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Usage across tenants"
        actions={
          <>
            <button type="button" disabled={!daily.data} onClick={() => saveFile(`openclawmu-usage-${range.from}-to-${range.to}.csv`, "text/csv", usageCsv(days))}>
              Export CSV
            </button>
            <button
              type="button"
              onClick={() => {
                byTenant.reload();
                daily.reload();
              }}
            >
              Refresh
            </button>
          </>
        }
      />
      <form
        class="row card"
        onSubmit={(e) => {
          e.preventDefault();
          setRange({ from, to });
        }}
      >
        <Field label="From (UTC)">
          <input type="date" value={from} max={to} required onInput={(e) => setFrom(val(e))} />
        </Field>
        <Field label="To (UTC)">
          <input type="date" value={to} min={from} required onInput={(e) => setTo(val(e))} />
        </Field>
        <button type="submit">Show</button>
      </form>
      {(byTenant.loading || daily.loading) && <Loading label="Loading usage…" />}
      {byTenant.error !== null && <ErrorBox error={byTenant.error} retry={byTenant.reload} />}
      {daily.error !== null && <ErrorBox error={daily.error} retry={daily.reload} />}
      {byTenant.data && (
        <>
          <BarChart title="Cost per tenant" unit="USD" data={tenants.map((t) => ({ label: label(t), value: t.costUsd }))} />
          <BarChart title="Tokens per tenant" unit="tokens" data={tenants.map((t) => ({ label: label(t), value: t.totalTokens }))} />
        </>
      )}
      {daily.data && <BarChart title="Cost per day, all tenants" unit="USD" data={perDay(days, range.from, range.to)} />}
      {byTenant.data && (
        <DataTable<TenantRow>
          caption={`Per tenant, ${range.from} to ${range.to}`}
          rows={tenants}
          empty="No usage in this range."
          columns={[
            { key: "tenantId", label: "Tenant", render: label },
            { key: "requests", label: "Requests", num: true },
            { key: "inputTokens", label: "Input tokens", num: true },
            { key: "outputTokens", label: "Output tokens", num: true },
            { key: "totalTokens", label: "Total tokens", num: true },
            { key: "costUsd", label: "Cost", num: true, render: (r) => usd(r.costUsd) },
          ]}
        />
      )}
    </section>
  );
}

export default definePage({ id: "usage-all", component: UsageAll });
