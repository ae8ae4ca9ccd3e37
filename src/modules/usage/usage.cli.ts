// `openclaw usage`: the operator's billing view of the ledger, as a table, JSON or CSV.
import { checkTenantId, describeTenantIdProblem } from "../../lib/ids.ts";
import { CliError, commandsFor, commonArgs, type CliTree } from "../module-cli.ts";
import type { HistoryRow, UsageService } from "./usage.service.ts";

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

type Services = { usage: UsageService };
const command = commandsFor<Services>();

const usageCommand = command({
  description: "Usage and cost per UTC day, tenant and model, from the ledger (default: the last 30 days)",
  args: {
    ...commonArgs,
    tenant: { type: "positional", required: false, description: "only this tenant" },
    from: { type: "string", description: "first UTC date, YYYY-MM-DD" },
    to: { type: "string", description: "last UTC date, YYYY-MM-DD (inclusive)" },
    csv: { type: "boolean", description: "print CSV (stable columns, see the README)" },
  },
  run({ usage }, args, io) {
    if (args.tenant) {
      const problem = checkTenantId(args.tenant);
      if (problem && problem !== "reserved") throw new CliError(describeTenantIdProblem(args.tenant, problem));
    }
    // The operator's billing view: every incarnation of a named id (a deleted tenant's history too), told apart.
    const rows = usage.daily({ tenantId: args.tenant, from: args.from, to: args.to });
    if (args.csv) return void io.write(toCsv(rows));
    io.emit(rows, () => {
      if (rows.length === 0) return io.line("No usage in this range.");
      // Rows of an id that was deleted and created again are told apart by their incarnation.
      const who = (r: HistoryRow) => (new Set(rows.filter((x) => x.tenantId === r.tenantId).map((x) => x.incarnation)).size > 1 ? `${r.tenantId}/${r.incarnation.slice(0, 6) || "old"}` : r.tenantId);
      io.line(["date      ", "tenant".padEnd(16), "model".padEnd(24), "requests".padStart(9), "tokens".padStart(12), "cost (USD)".padStart(12)].join("  "));
      for (const r of rows) {
        io.line([r.date, who(r).padEnd(16), r.model.padEnd(24), String(r.requests).padStart(9), String(r.totalTokens).padStart(12), r.costUsd.toFixed(6).padStart(12)].join("  "));
      }
      const total = rows.reduce((a, r) => ({ requests: a.requests + r.requests, tokens: a.tokens + r.totalTokens, micro: a.micro + r.costMicroUsd }), { requests: 0, tokens: 0, micro: 0 });
      io.line(["total     ", "".padEnd(16), "".padEnd(24), String(total.requests).padStart(9), String(total.tokens).padStart(12), (total.micro / 1e6).toFixed(6).padStart(12)].join("  "));
    });
  },
});

export const usageCli: CliTree<Services> = { usage: usageCommand };
