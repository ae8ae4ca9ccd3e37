import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { createTenant, operatorCtx, testCore, scope } from "../../helpers/core.ts";
import { trashDrained } from "../../../src/lib/tenant-dirs.ts";

describe("tenants", () => {
  test("create makes the contract's directory layout, all 0700", () => {
    const core = testCore();
    createTenant(core, "acme", { displayName: "Acme" });
    const dir = core.tenants.dir(scope("acme"));
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const sub of core.tenantData.dirs) expect(fs.statSync(path.join(dir, sub)).mode & 0o777).toBe(0o700);
    expect([...core.tenantData.dirs].sort()).toEqual(["channels", "cron", "memory", "plugins", "sessions", "skills", "workspace"]);
    expect(fs.readdirSync(dir).sort()).toEqual([...core.tenantData.dirs].sort());
    expect(core.tenants.get(scope("acme"))).toMatchObject({ tenantId: "acme", displayName: "Acme", status: "active", suspendedAt: null });
    core.close();
  });

  test("bad ids, duplicates, reserved names and unknown tenants are clear errors that change nothing", () => {
    const core = testCore();
    createTenant(core, "acme");
    const seq = core.audit.head().seq;
    expect(() => createTenant(core, "acme")).toThrow('tenant "acme" already exists');
    expect(() => createTenant(core, "ACME")).toThrow("is invalid");
    expect(() => createTenant(core, "root")).toThrow("is reserved");
    expect(() => createTenant(core, "")).toThrow("empty");
    expect(() => createTenant(core, "a".repeat(40))).toThrow("longer than 32");
    expect(() => core.tenants.get(scope("ghost"))).toThrow('tenant "ghost" not found');
    expect(() => core.tenants.suspend(scope("ghost"), operatorCtx)).toThrow("not found");
    expect(() => core.tenants.remove(scope("ghost"), operatorCtx)).toThrow("not found");
    expect(() => core.tenants.rotateToken(scope("ghost"), 0, operatorCtx)).toThrow("not found");
    expect(core.audit.head().seq).toBe(seq);
    expect(core.tenants.list().map((t) => t.tenantId)).toEqual(["acme"]);
    core.close();
  });

  test("a leftover directory without a record is not overwritten", () => {
    const core = testCore();
    fs.mkdirSync(path.join(core.home, "tenants", "stray", "workspace"), { recursive: true });
    fs.writeFileSync(path.join(core.home, "tenants", "stray", "workspace", "data"), "keep me");
    expect(() => createTenant(core, "stray")).toThrow("already exists without a tenant record");
    expect(core.tenants.exists("stray")).toBe(false);
    expect(fs.readFileSync(path.join(core.home, "tenants", "stray", "workspace", "data"), "utf8")).toBe("keep me");
    core.close();
  });

  test("suspend and resume are idempotence-checked and recorded", () => {
    const core = testCore();
    createTenant(core, "acme");
    expect(() => core.tenants.resume(scope("acme"), operatorCtx)).toThrow("already active");
    core.tenants.suspend(scope("acme"), operatorCtx);
    expect(core.tenants.get(scope("acme")).status).toBe("suspended");
    expect(() => core.tenants.suspend(scope("acme"), operatorCtx)).toThrow("already suspended");
    core.close();
  });

  test("delete wipes the directory, the token hashes and quotas; the audit log keeps its records", async () => {
    const core = testCore();
    createTenant(core, "acme");
    core.tenants.setQuota(scope("acme"), { tokensPerDay: 1 }, operatorCtx);
    fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "notes.md"), "hello");
    core.tenants.remove(scope("acme"), operatorCtx);
    expect(fs.existsSync(path.join(core.home, "tenants", "acme"))).toBe(false);
    // The trashed directory is removed in the background, in time slices (any depth: red team 11 #2).
    await trashDrained();
    expect(fs.readdirSync(path.join(core.home, "tenants")).filter((n) => n !== ".trash")).toEqual([]);
    expect(fs.existsSync(path.join(core.home, "tenants", ".trash")) ? fs.readdirSync(path.join(core.home, "tenants", ".trash")) : []).toEqual([]);
    const counts = core.handle.sqlite.query("SELECT (SELECT count(*) FROM tenants) t, (SELECT count(*) FROM tenant_tokens) k, (SELECT count(*) FROM tenant_quotas) q").get();
    expect(counts).toEqual({ t: 0, k: 0, q: 0 });
    expect(core.audit.query({ tenant: "acme" }).map((r) => r.action)).toEqual(["tenant.delete", "tenant.quota.set", "tenant.create"]);
    // The id can be reused, with a brand new token.
    createTenant(core, "acme");
    expect(fs.existsSync(path.join(core.tenants.dir(scope("acme")), "workspace", "notes.md"))).toBe(false);
    core.close();
  });

  test("quota fields: stored overrides, defaults from the gateway config, unlimited", () => {
    const core = testCore({ config: { quotas: { defaults: { tokensPerDay: 100, costPerDayUsd: null } } } });
    core.tenants.create({ id: "acme", quota: { costPerDayUsd: 12.345678, requestsPerMinute: null } }, operatorCtx);
    expect(core.limits.view("acme")).toEqual({
      limits: { tokensPerDay: 100, costPerDayUsd: 12.345678, requestsPerMinute: null, maxConcurrent: 8 },
      source: { tokensPerDay: "default", costPerDayUsd: "tenant", requestsPerMinute: "tenant", maxConcurrent: "default" },
    });
    core.tenants.setQuota(scope("acme"), { costPerDayUsd: "default" }, operatorCtx);
    expect(core.limits.view("acme").limits.costPerDayUsd).toBeNull();
    core.close();
  });
});
