// Upgrading a database from before tenant incarnations: every tenant gets one, rows that are not
// older than their tenant become its, older rows (a previous owner's of a reused id) and rows of
// deleted tenants belong to no current tenant, and usage_daily is rebuilt per incarnation.
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { Database } from "bun:sqlite";
import { ManualClock } from "../../src/core/clock.ts";
import { MIGRATIONS } from "../../src/db/migrations/index.ts";
import { makeHome, testCore, scope } from "../helpers/core.ts";

const DAY = Date.UTC(2026, 0, 10);
const at = (h: number) => DAY + h * 3_600_000;

/** A state.db as the release before incarnations left it (schema version 4). */
function oldDatabase(file: string): void {
  const db = new Database(file, { create: true, strict: true });
  for (const m of MIGRATIONS.slice(0, 4)) for (const stmt of m.sql.split("--> statement-breakpoint")) if (stmt.trim()) db.exec(stmt);
  db.exec("PRAGMA user_version = 4");
  const tenant = db.query("INSERT INTO tenants (id, display_name, status, created_at, updated_at) VALUES (?1, NULL, 'active', ?2, ?2)");
  tenant.run("beta", at(1));
  tenant.run("acme", at(10)); // re-created at 10:00; an earlier acme had been deleted
  const ledger = db.query(
    `INSERT INTO usage_ledger (id, tenant_id, request_id, model, provider, upstream_model, stream, status, input_tokens, output_tokens, total_tokens, cost_micro_usd,
       reserved_tokens, reserved_micro_usd, input_bound, rates, started_at, ended_at) VALUES (?1, ?2, 'r', 'm', 'p', 'u', 0, 'ok', ?3, 0, ?3, ?3, 0, 0, 0, '{}', ?4, ?4)`,
  );
  ledger.run("old-acme", "acme", 100, at(9));
  ledger.run("new-acme", "acme", 7, at(11));
  ledger.run("beta-1", "beta", 5, at(11));
  ledger.run("ghost-1", "ghost", 3, at(11));
  const daily = db.query("INSERT INTO usage_daily (tenant_id, day, model, requests, input_tokens, total_tokens, cost_micro_usd) VALUES (?1, '2026-01-10', 'm', ?2, ?3, ?3, ?3)");
  daily.run("acme", 2, 107); // the previous owner's and the current one's, mixed: the leak being fixed
  daily.run("beta", 1, 5);
  daily.run("ghost", 1, 3);
  const run = db.query("INSERT INTO sandbox_runs (id, tenant_id, mode, origin, started_at, duration_ms) VALUES (?1, ?2, 'bwrap', 'rpc', ?3, 1000)");
  run.run("run-old", "acme", at(9));
  run.run("run-new", "acme", at(11));
  const backup = db.query(
    `INSERT INTO backups (id, tenant_id, location, size_bytes, sha256, encrypted, files, content_bytes, format_version, gateway_version, origin, created_at)
     VALUES (?1, 'acme', ?2, 1, 'x', 0, 0, 0, 1, '0.1.0', 'tenant', ?3)`,
  );
  backup.run("b-old", "s3://b/tenants/acme/old.tar.zst", at(9));
  backup.run("b-new", "s3://b/tenants/acme/new.tar.zst", at(11));
  db.close();
}

describe("the incarnations migration", () => {
  test("existing tenants get an incarnation; a previous owner's rows of a reused id stop showing; the operator's totals stay", () => {
    const home = makeHome();
    oldDatabase(path.join(home, "state.db"));
    const core = testCore({ home, clock: new ManualClock(at(12)) });
    const acme = core.tenants.incarnation("acme")!;
    const beta = core.tenants.incarnation("beta")!;
    expect(acme).toMatch(/^[0-9a-f]{16}$/);
    expect(beta).toMatch(/^[0-9a-f]{16}$/);
    expect(acme).not.toBe(beta);
    const q = (sql: string) => core.handle.sqlite.query(sql).all();
    expect(q("SELECT id, incarnation FROM usage_ledger ORDER BY id")).toEqual([
      { id: "beta-1", incarnation: beta },
      { id: "ghost-1", incarnation: "" },
      { id: "new-acme", incarnation: acme },
      { id: "old-acme", incarnation: "" },
    ]);
    expect(q("SELECT tenant_id, incarnation, requests, total_tokens FROM usage_daily ORDER BY tenant_id, incarnation")).toEqual([
      { tenant_id: "acme", incarnation: "", requests: 1, total_tokens: 100 },
      { tenant_id: "acme", incarnation: acme, requests: 1, total_tokens: 7 },
      { tenant_id: "beta", incarnation: beta, requests: 1, total_tokens: 5 },
      { tenant_id: "ghost", incarnation: "", requests: 1, total_tokens: 3 },
    ]);
    expect(core.usage.summary(scope("acme")).today).toMatchObject({ requests: 1, totalTokens: 7 });
    expect(core.quotas.status(scope("acme")).usage.usedTokensToday).toBe(7);
    expect(core.sandbox.seconds(scope("acme")).runs).toBe(1);
    expect(core.backups.list(scope("acme")).map((b) => b.backupId)).toEqual(["b-new"]);
    expect(core.usage.byTenant({ from: "2026-01-10", to: "2026-01-10" }).map((t) => [t.tenantId, t.incarnation, t.totalTokens])).toEqual([
      ["acme", "", 100],
      ["acme", acme, 7],
      ["beta", beta, 5],
      ["ghost", "", 3],
    ]);
    core.close();
  });
});
