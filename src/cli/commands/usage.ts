import { defineCommand } from "citty";
import { checkTenantId, describeTenantIdProblem } from "../../lib/ids.ts";
import type { HistoryRow } from "../../modules/usage/usage.service.ts";
import { action, CliError, commonArgs, emit, line, withCore, type CommonArgs } from "../context.ts";

/** The CSV columns, in order. Stable: documented in the README; add columns only at the end. */
export const CSV_COLUMNS = ["date", "tenant", "model", "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "total_tokens", "cost_usd", "incarnation"] as const;

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(rows: HistoryRow[]): string {
  const out = [CSV_COLUMNS.join(",")];
  for (const r of rows) {
    out.push(
      [r.date, r.tenantId, r.model, r.requests, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens, r.reasoningTokens, r.totalTokens, (r.costMicroUsd / 1_000_000).toFixed(6), r.incarnation].map(csvField).join(","),
    );
  }
  return `${out.join("\n")}\n`;
}

type Args = CommonArgs & { tenant?: string; from?: string; to?: string; csv?: boolean };

export default defineCommand({
  meta: { name: "usage", description: "Usage and cost per UTC day, tenant and model, from the ledger (default: the last 30 days)" },
  args: {
    ...commonArgs,
    tenant: { type: "positional", required: false, description: "only this tenant" },
    from: { type: "string", description: "first UTC date, YYYY-MM-DD" },
    to: { type: "string", description: "last UTC date, YYYY-MM-DD (inclusive)" },
    csv: { type: "boolean", description: "print CSV (stable columns, see the README)" },
  },
  run: action<Args>((args) =>
    withCore(args, (core) => {
      if (args.tenant) {
        const problem = checkTenantId(args.tenant);
        if (problem && problem !== "reserved") throw new CliError(describeTenantIdProblem(args.tenant, problem));
      }
      // The operator's billing view: every incarnation of a named id (a deleted tenant's history too), told apart.
      const rows = core.usage.history({ tenantId: args.tenant, allIncarnations: true, from: args.from, to: args.to });
      if (args.csv) return void process.stdout.write(toCsv(rows));
      emit(args, rows, () => {
        if (rows.length === 0) return line("No usage in this range.");
        // Rows of an id that was deleted and created again are told apart by their incarnation.
        const who = (r: HistoryRow) => (new Set(rows.filter((x) => x.tenantId === r.tenantId).map((x) => x.incarnation)).size > 1 ? `${r.tenantId}/${r.incarnation.slice(0, 6) || "old"}` : r.tenantId);
        line(["date      ", "tenant".padEnd(16), "model".padEnd(24), "requests".padStart(9), "tokens".padStart(12), "cost (USD)".padStart(12)].join("  "));
        for (const r of rows) {
          line([r.date, who(r).padEnd(16), r.model.padEnd(24), String(r.requests).padStart(9), String(r.totalTokens).padStart(12), r.costUsd.toFixed(6).padStart(12)].join("  "));
        }
        const total = rows.reduce((a, r) => ({ requests: a.requests + r.requests, tokens: a.tokens + r.totalTokens, micro: a.micro + r.costMicroUsd }), { requests: 0, tokens: 0, micro: 0 });
        line(["total     ", "".padEnd(16), "".padEnd(24), String(total.requests).padStart(9), String(total.tokens).padStart(12), (total.micro / 1e6).toFixed(6).padStart(12)].join("  "));
      });
    }),
  ),
});
