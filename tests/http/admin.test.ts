// The control plane over HTTP, in process: every route with the admin key, the error envelope,
// the OpenAPI document and the docs page.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import { SCHEMA_VERSION } from "../../src/db/migrate.ts";
import { adminKey, createTenant, testApp, testCore } from "../helpers/core.ts";

function setup(config?: Record<string, unknown>) {
  const core = testCore({ config });
  const key = adminKey(core);
  return { core, key, ...testApp(core) };
}

describe("control plane", () => {
  test("tenant lifecycle through /admin/v1", async () => {
    const { core, key, call } = setup();
    const created = await call("POST", "/admin/v1/tenants", { token: key, body: { id: "acme", displayName: "Acme", quota: { tokensPerDay: 5000, costPerDayUsd: 2.5 } } });
    expect(created.status).toBe(201);
    const token = created.json.token as string;
    expect(token).toMatch(/^ocmu_acme_/);
    expect(created.json.tenant.quota.limits).toEqual({ tokensPerDay: 5000, costPerDayUsd: 2.5, requestsPerMinute: 60, maxConcurrent: 8 });

    expect((await call("GET", "/admin/v1/tenants", { token: key })).json.tenants.map((t: { tenantId: string }) => t.tenantId)).toEqual(["acme"]);
    const shown = await call("GET", "/admin/v1/tenants/acme", { token: key });
    expect(shown.json.token.prefix).toBe(`${token.slice(0, 14)}…`);
    expect(shown.text).not.toContain(token);

    expect((await call("PATCH", "/admin/v1/tenants/acme", { token: key, body: { displayName: "ACME" } })).json.displayName).toBe("ACME");
    expect((await call("POST", "/admin/v1/tenants/acme/suspend", { token: key })).json.status).toBe("suspended");
    expect(core.tokens.verify(token).ok).toBe(false);
    expect((await call("POST", "/admin/v1/tenants/acme/suspend", { token: key })).status).toBe(409);
    expect((await call("POST", "/admin/v1/tenants/acme/resume", { token: key })).json.status).toBe("active");

    const rotated = await call("POST", "/admin/v1/tenants/acme/token/rotate", { token: key, body: { grace: "1h" } });
    expect(rotated.status).toBe(200);
    expect(rotated.json.graceUntil).toBeString();
    expect(core.tokens.verify(token).ok).toBe(true);
    expect(core.tokens.verify(rotated.json.token).ok).toBe(true);
    expect((await call("POST", "/admin/v1/tenants/acme/token/rotate", { token: key, body: { grace: "forever" } })).status).toBe(400);

    const q = await call("PATCH", "/admin/v1/tenants/acme/quota", { token: key, body: { requestsPerMinute: null, maxConcurrent: "default", tokensPerDay: 7 } });
    expect(q.json.limits).toMatchObject({ requestsPerMinute: null, maxConcurrent: 8, tokensPerDay: 7 });
    expect(q.json.source).toMatchObject({ requestsPerMinute: "tenant", maxConcurrent: "default" });
    expect((await call("GET", "/admin/v1/tenants/acme/quota", { token: key })).json.day.resetsAt).toMatch(/T00:00:00.000Z$/);
    expect((await call("GET", "/admin/v1/tenants/acme/config", { token: key })).json).toEqual({ config: {}, overlay: { state: "none" } });

    const audit = await call("GET", "/admin/v1/audit?tenant=acme&limit=3", { token: key });
    expect(audit.json.records.map((r: { action: string }) => r.action)).toEqual(["tenant.quota.set", "tenant.token.rotate", "tenant.resume"]);
    expect(audit.json.nextBeforeSeq).toBe(audit.json.records[2].seq);
    const older = await call("GET", `/admin/v1/audit?tenant=acme&beforeSeq=${audit.json.nextBeforeSeq}`, { token: key });
    expect(older.json.records.at(-1).action).toBe("tenant.create");
    expect(audit.json.records[0].actor.id).toMatch(/^adm:[0-9a-f]{12}$/);

    const status = await call("GET", "/admin/v1/status", { token: key });
    expect(status.json).toMatchObject({ status: "ok", tenants: { total: 1, active: 1, suspended: 0 }, database: { schemaVersion: SCHEMA_VERSION } });

    expect((await call("DELETE", "/admin/v1/tenants/acme", { token: key })).json).toEqual({ tenantId: "acme", deleted: true });
    expect(fs.existsSync(`${core.home}/tenants/acme`)).toBe(false);
    expect((await call("GET", "/admin/v1/tenants/acme", { token: key })).status).toBe(404);
    expect(core.audit.query({ tenant: "acme" }).length).toBeGreaterThan(5); // the audit log keeps its records
    core.close();
  });

  test.each([
    [{ id: "Bad" }, 400, "INVALID_PARAMS", "is invalid"],
    [{ id: "admin" }, 400, "INVALID_PARAMS", "reserved"],
    [{ id: "acme", extra: 1 }, 400, "INVALID_PARAMS", ""],
    [{ displayName: "no id" }, 400, "INVALID_PARAMS", "body"],
    [{ id: "acme", quota: { tokensPerDay: -1 } }, 400, "INVALID_PARAMS", "body"],
  ])("create %j → %i %s", async (body, status, code, message) => {
    const { core, key, call } = setup();
    const r = await call("POST", "/admin/v1/tenants", { token: key, body });
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(r.json.error.message).toContain(message);
    expect(r.json.error.requestId).toBe(r.headers.get("x-request-id")!);
    expect(core.tenants.list()).toHaveLength(0);
    core.close();
  });

  test("duplicates, unknown tenants and bad JSON get clear errors", async () => {
    const { core, key, call } = setup();
    createTenant(core, "acme");
    const dup = await call("POST", "/admin/v1/tenants", { token: key, body: { id: "acme" } });
    expect(dup.status).toBe(409);
    expect(dup.json.error.message).toBe('tenant "acme" already exists');
    expect((await call("POST", "/admin/v1/tenants/ghost/suspend", { token: key })).json.error).toMatchObject({ code: "NOT_FOUND", message: 'tenant "ghost" not found' });
    const bad = await call("POST", "/admin/v1/tenants", { token: key, rawBody: '{"id":', headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/not valid JSON/);
    const form = await call("POST", "/admin/v1/tenants", { token: key, rawBody: "id=acme", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    expect((await call("GET", "/admin/v1/nope", { token: key })).status).toBe(404);
    core.close();
  });

  test("the admin key from OPENCLAW_ADMIN_KEY works too", async () => {
    const envKey = "ocmu_admin_33RZVD0IvAoVVtaECqP8WR3Pwl0p";
    const core = testCore({ env: { OPENCLAW_ADMIN_KEY: envKey } });
    const { call } = testApp(core);
    expect((await call("GET", "/admin/v1/status", { token: envKey })).status).toBe(200);
    expect((await call("GET", "/admin/v1/status", { token: envKey.slice(0, -1) + "q" })).status).toBe(401);
    core.close();
  });

  test("OpenAPI document: every control-plane route, operationIds <area>.<action>, admin security", async () => {
    const { core, call, app } = setup();
    const doc = (await call("GET", "/admin/openapi.json")).json;
    const ops = Object.entries(doc.paths as Record<string, Record<string, { operationId: string; security?: unknown[] }>>).flatMap(([p, m]) => Object.entries(m).map(([verb, o]) => ({ p, verb, ...o })));
    const adminRoutes = app.routes.filter((r) => r.path.startsWith("/admin/v1/"));
    expect(ops.filter((o) => o.p.startsWith("/admin/v1/")).length).toBe(adminRoutes.length);
    for (const o of ops) expect(o.operationId).toMatch(/^[a-z]+\.[a-zA-Z]+$/);
    for (const o of ops.filter((x) => x.p.startsWith("/admin/v1/"))) expect(o.security).toEqual([{ adminKey: [] }]);
    expect(doc.components.securitySchemes.adminKey.scheme).toBe("bearer");
    expect(Object.keys(doc.paths).some((p) => p.startsWith("/rpc") || p.startsWith("/admin/docs"))).toBe(false);
    core.close();
  });

  test("docs page: local assets only, strict CSP, no inline script", async () => {
    const { core, call } = setup();
    const page = await call("GET", "/admin/docs");
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.text).not.toMatch(/<script>(?!<\/script>)/);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    for (const asset of ["/admin/docs/swagger-ui.css", "/admin/docs/swagger-ui-bundle.js", "/admin/docs/init.js"]) {
      const r = await call("GET", asset);
      expect(r.status).toBe(200);
      expect(r.text.length).toBeGreaterThan(100);
    }
    core.close();
  });
});
