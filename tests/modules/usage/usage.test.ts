// The usage ledger and its surfaces: admin API, CLI (CSV with stable columns), history that is never
// repriced, crash recovery of rows left in flight, and streams that outlive the idle timeout.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { CSV_COLUMNS } from "../../../src/modules/usage/usage.cli.ts";
import { adminKey } from "../../helpers/core.ts";
import { chatWorld, ledgerRows } from "../../helpers/chat.ts";
import { cli } from "../../helpers/cli.ts";


describe("usage ledger", () => {
  test("changing the rate card never reprices history", async () => {
    const w = await chatWorld();
    await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "a b c [[words:10]]" }] });
    const before = ledgerRows(w.core).at(-1);
    const cfgFile = path.join(w.core.home, "openclaw.json");
    const cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
    cfg.billing.rateCard["gpt-4o-mini"] = { input: 100, output: 200 };
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    w.core.reloadConfig();
    await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "a b c [[words:10]]" }] });
    const rows = ledgerRows(w.core);
    expect(rows[0].cost_micro_usd).toBe(before.cost_micro_usd);
    expect(JSON.parse(rows[0].rates).input).toBe(1);
    expect(JSON.parse(rows[1].rates)).toEqual({ input: 100, output: 200, cacheRead: 0, cacheWrite: 0, reasoning: 200 });
    expect(rows[1].cost_micro_usd).toBe(4 * 100 + 10 * 200);
    await w.close();
  });

  test("rows left in flight by a crash are settled at their reserved input when the gateway starts", async () => {
    const w = await chatWorld();
    const { core } = w;
    core.ledger.begin({ id: "crashed-1", tenantId: "acme", requestId: "req_x", model: "gpt-4o-mini", provider: "local", upstreamModel: "fake-mini", stream: true, status: "in_flight", reservedTokens: 500, reservedMicroUsd: 900, inputBound: 120, rates: JSON.stringify({ input: 1, output: 2, cacheRead: 0, cacheWrite: 0, reasoning: 2 }), startedAt: Date.now() });
    core.ledger.flush();
    expect(core.ledger.recoverInFlight()).toBe(1);
    const row = ledgerRows(core).find((r) => r.id === "crashed-1");
    expect(row).toMatchObject({ status: "interrupted", error_code: "gateway_restarted", input_tokens: 120, cost_micro_usd: 120 });
    await w.close();
  });

  test("admin API: per tenant and across tenants", async () => {
    const w = await chatWorld();
    const key = adminKey(w.core);
    const other = w.core.tenants.create({ id: "beta" }, { actor: { kind: "operator", id: "t" }, requestId: "r" }).token;
    await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x [[words:2]]" }] });
    await w.post({ model: "claude-x", messages: [{ role: "user", content: "y [[words:3]]" }] }, other);
    const get = async (p: string) => (await fetch(`${w.gw.url}${p}`, { headers: { authorization: `Bearer ${key}` } })).json() as Promise<any>;
    const all = await get("/admin/v1/usage");
    expect(all.tenants.map((t: any) => [t.tenantId, t.requests, t.totalTokens])).toEqual([
      ["acme", 1, 4],
      ["beta", 1, 5],
    ]);
    const one = await get("/admin/v1/tenants/beta/usage");
    expect(one.today).toMatchObject({ requests: 1, totalTokens: 5 });
    expect(one.quota.usage.usedTokensToday).toBe(5);
    expect(one.days.map((d: any) => d.model)).toEqual(["claude-x"]);
    const daily = await get("/admin/v1/usage/daily");
    expect(daily.days).toHaveLength(2);
    const bad = await fetch(`${w.gw.url}/admin/v1/usage?from=2026-13-01`, { headers: { authorization: `Bearer ${key}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toContain("from must be a date as YYYY-MM-DD");
    await w.close();
  });

  test("openclaw usage --csv: stable columns, one row per day, tenant and model", async () => {
    const w = await chatWorld();
    await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x [[words:2]]" }] });
    await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x [[words:2]]" }] });
    await w.post({ model: "claude-x", messages: [{ role: "user", content: "y [[words:3]]" }] });
    w.core.ledger.flush();
    const run = (args: string[]) => cli(w.core.home, ["usage", ...args]);
    const csv = (await run(["--csv"])).out.trim().split("\n");
    // Columns are only ever added at the end: `incarnation` tells apart tenants that had the same id.
    expect(csv[0]).toBe("date,tenant,model,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,total_tokens,cost_usd,incarnation");
    expect(csv[0]!.split(",")).toEqual([...CSV_COLUMNS]);
    const today = new Date().toISOString().slice(0, 10);
    const inc = w.core.tenants.incarnation("acme");
    expect(csv.slice(1)).toEqual([`${today},acme,claude-x,1,2,3,0,0,0,5,0.000008,${inc}`, `${today},acme,gpt-4o-mini,2,4,4,0,0,0,8,0.000012,${inc}`]);
    const json = JSON.parse((await run(["acme", "--json", "--from", today, "--to", today])).out);
    expect(json).toHaveLength(2);
    const bad = await run(["--from", "yesterday"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("from must be a date as YYYY-MM-DD");
    await w.close();
  });
});

describe("daily rollups", () => {
  test("usage_daily always equals the sums of the settled ledger rows, long requests and recovery included", async () => {
    const w = await chatWorld();
    const { core } = w;
    const ctx = { actor: { kind: "operator" as const, id: "t" }, requestId: "r" };
    const beta = core.tenants.create({ id: "beta" }, ctx).token;
    await Promise.all([
      w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "a [[words:3]]" }] }),
      w.post({ model: "claude-x", messages: [{ role: "user", content: "b c [[words:2]] [[cache:4:2]]" }] }),
      w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "[[error:500]]" }] }),
      // Runs past the in-flight threshold, so its row is written in flight and settled later.
      w.post({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "slow [[words:3]] [[slow:500]]" }] }, beta).then((r) => r.text()),
    ]);
    core.ledger.begin({ id: "crashed-2", tenantId: "beta", requestId: "req_y", model: "claude-x", provider: "claude", upstreamModel: "u", stream: false, status: "in_flight", reservedTokens: 9, reservedMicroUsd: 9, inputBound: 40, rates: JSON.stringify({ input: 1, output: 1, cacheRead: 0, cacheWrite: 0, reasoning: 1 }), startedAt: Date.now() });
    core.ledger.flush();
    core.ledger.recoverInFlight();
    const q = (sql: string) => core.handle.sqlite.query(sql).all();
    const fromLedger = q(`SELECT tenant_id, strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') AS day, model, count(*) AS requests, sum(input_tokens) AS i, sum(output_tokens) AS o,
      sum(cache_read_tokens) AS cr, sum(cache_write_tokens) AS cw, sum(total_tokens) AS t, sum(cost_micro_usd) AS c FROM usage_ledger WHERE status != 'in_flight' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`);
    const fromDaily = q(`SELECT tenant_id, day, model, requests, input_tokens AS i, output_tokens AS o, cache_read_tokens AS cr, cache_write_tokens AS cw, total_tokens AS t, cost_micro_usd AS c FROM usage_daily ORDER BY 1, 2, 3`);
    expect(fromDaily).toEqual(fromLedger);
    expect(fromLedger.length).toBeGreaterThanOrEqual(3);
    await w.close();
  });
});

describe("streams and the server's idle timeout", () => {
  test("a stream quieter than the idle timeout is kept open with keep-alive comments", async () => {
    const w = await chatWorld({ config: { gateway: { limits: { idleTimeoutSeconds: 2, streamKeepAliveSeconds: 1 } } } });
    const res = await w.post({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "[[words:2]] [[slow:3500]]" }] });
    const text = await res.text();
    expect(text).toContain(": keep-alive");
    expect(text).toContain('"content":"w0"');
    expect(text).toContain('"content":" w1"');
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    expect(ledgerRows(w.core).at(-1).status).toBe("ok");
    await w.close();
  }, 30_000);
});
