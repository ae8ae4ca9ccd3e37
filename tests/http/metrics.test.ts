// Operator visibility: /metrics (Prometheus text, admin key only) counts requests by route template
// and status with latency histograms, quota refusals, sandbox runs, audit writes and per-tenant
// requests with bounded labels; every request leaves one JSON access-log line with its request id.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { createConsola } from "consola";
import { readEnvironment } from "../../src/config/env.ts";
import { createCore } from "../../src/app/core.ts";
import { createMetrics } from "../../src/modules/metrics/metrics.ts";
import { adminKey, createTenant, makeHome, operatorCtx, testApp, scope } from "../helpers/core.ts";

function capturingCore(config: Record<string, unknown> = {}) {
  const home = makeHome();
  fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(config));
  const lines: Record<string, unknown>[] = [];
  const log = createConsola({
    level: 3,
    reporters: [
      {
        log: (o) => {
          const [msg, ...rest] = o.args;
          lines.push({ tag: o.tag, msg, ...Object.assign({}, ...rest.filter((x) => x && typeof x === "object")) });
        },
      },
    ],
  });
  return { core: createCore({ home, env: readEnvironment({}), log }), lines };
}

function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("/metrics", () => {
  test("requires the admin key; tenant tokens and nothing are refused", async () => {
    const { core } = capturingCore();
    const key = adminKey(core);
    const t = createTenant(core, "acme");
    const { call } = testApp(core);
    expect((await call("GET", "/metrics")).status).toBe(401);
    expect((await call("GET", "/metrics", { token: t })).status).toBe(401);
    const ok = await call("GET", "/metrics", { token: key });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    expect(ok.text).toContain('openclaw_build_info{version="');
    core.close();
  });

  test("counts requests by route template and status, latency, tenants, quota refusals, audit writes and sandbox runs", async () => {
    const { core } = capturingCore({ quotas: { defaults: { requestsPerMinute: 1 } }, providers: { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } }, models: { m: { provider: "p", upstreamModel: "m", free: true } } });
    const key = adminKey(core);
    const t = createTenant(core, "acme");
    const { call, rpc } = testApp(core);
    for (let i = 0; i < 3; i++) await call("GET", "/admin/v1/tenants/acme", { token: key });
    await call("GET", "/admin/v1/tenants/ghost", { token: key });
    await rpc(t, "health");
    // The second chat request in a minute is refused at admission (requestsPerMinute: 1).
    for (let i = 0; i < 2; i++) await call("POST", "/v1/chat/completions", { token: t, body: { model: "m", messages: [{ role: "user", content: "hi" }] } });
    await core.sandbox.run({ tenant: scope("acme"), command: ["true"], origin: "operator" });
    const text = (await call("GET", "/metrics", { token: key })).text;
    expect(value(text, 'openclaw_http_requests_total{route="/admin/v1/tenants/:id",method="GET",status="200"}')).toBe(3);
    expect(value(text, 'openclaw_http_requests_total{route="/admin/v1/tenants/:id",method="GET",status="404"}')).toBe(1);
    expect(value(text, 'openclaw_http_request_duration_seconds_count{route="/admin/v1/tenants/:id",method="GET"}')).toBe(4);
    expect(text).toContain('openclaw_http_request_duration_seconds_bucket{route="/admin/v1/tenants/:id",method="GET",le="+Inf"} 4');
    expect(value(text, 'openclaw_tenant_requests_total{tenant="acme"}')).toBe(3);
    expect(value(text, 'openclaw_quota_refusals_total{limit="requestsPerMinute"}')).toBe(1);
    expect(value(text, 'openclaw_sandbox_runs_total{mode="bwrap",outcome="ok"}')).toBe(1);
    expect(value(text, "openclaw_audit_records_total")).toBe(2); // admin key rotate, tenant create
    expect(value(text, "openclaw_tenants")).toBe(1);
    // Raw paths never become labels.
    expect(text).not.toContain("/admin/v1/tenants/ghost");
    core.close();
  });

  test("per-tenant labels are bounded: beyond 200 tenants, the rest share tenant=\"_other\"", () => {
    const m = createMetrics();
    for (let i = 0; i < 500; i++) m.request("/rpc", "POST", 200, 0.001, `tenant-${i}`);
    const text = m.render({ version: "x", tenants: 500 });
    const series = text.split("\n").filter((l) => l.startsWith("openclaw_tenant_requests_total{"));
    expect(series).toHaveLength(201);
    expect(value(text, 'openclaw_tenant_requests_total{tenant="_other"}')).toBe(300);
  });
});

describe("access log", () => {
  test("one JSON line per request with its request id, route, status, time and tenant; never a token", async () => {
    const { core, lines } = capturingCore();
    const key = adminKey(core);
    const t = createTenant(core, "acme");
    const { call, rpc } = testApp(core);
    await call("GET", "/admin/v1/tenants/acme", { token: key, headers: { "x-request-id": "req-from-client-1" } });
    await rpc(t, "health");
    await call("GET", "/admin/v1/tenants", { token: "wrong" });
    await Bun.sleep(50); // the access log is written after the response has gone
    const access = lines.filter((l) => l.tag === "access");
    expect(access).toHaveLength(3);
    const byRoute = (r: string) => access.find((l) => l.route === r);
    expect(byRoute("/admin/v1/tenants/:id")).toMatchObject({ msg: "request", requestId: expect.stringMatching(/^req_[0-9a-f]{32}$/), clientRequestId: "req-from-client-1", method: "GET", status: 200 });
    expect(byRoute("/rpc")).toMatchObject({ status: 200, tenant: "acme" });
    expect(byRoute("unrouted:control")).toMatchObject({ status: 401, method: "GET" });
    expect(typeof byRoute("/rpc")!.ms).toBe("number");
    const all = JSON.stringify(lines);
    expect(all).not.toContain(t);
    expect(all).not.toContain(key);
    core.tenants.remove(scope("acme"), operatorCtx);
    core.close();
  });

  test("gateway.accessLog: false turns it off", async () => {
    const { core, lines } = capturingCore({ gateway: { accessLog: false } });
    const key = adminKey(core);
    await testApp(core).call("GET", "/admin/v1/tenants", { token: key });
    await Bun.sleep(50);
    expect(lines.filter((l) => l.tag === "access")).toHaveLength(0);
    core.close();
  });
});
