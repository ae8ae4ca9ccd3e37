// Edge hardening: explicit body and header limits, one identical 401, failed-auth throttling that
// never locks a tenant out for other clients, trusted proxies, security headers, idle timeouts.
import { describe, expect, test } from "bun:test";
import net from "node:net";
import { startGateway } from "../../src/http/gateway.ts";
import { adminKey, createTenant, operatorCtx, testApp, testCore, scope } from "../helpers/core.ts";

describe("limits", () => {
  test("bodies over the route's limit get 413 before authentication or parsing", async () => {
    const core = testCore({ config: { gateway: { limits: { adminBodyBytes: 1024, rpcBodyBytes: 2048 } } } });
    const key = adminKey(core);
    const { call } = testApp(core);
    const big = JSON.stringify({ id: "acme", displayName: "x".repeat(2000) });
    const r = await call("POST", "/admin/v1/tenants", { token: key, rawBody: big, headers: { "content-type": "application/json" } });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe("PAYLOAD_TOO_LARGE");
    // A declared length over the limit is refused before authentication.
    const declared = { "content-type": "application/json", "content-length": String(Buffer.byteLength(big)) };
    expect((await call("POST", "/admin/v1/tenants", { rawBody: big, headers: declared })).status).toBe(413);
    const rpcBig = await call("POST", "/rpc", { rawBody: "x".repeat(3000), headers: { "content-length": "3000" } });
    expect(rpcBig.status).toBe(413);
    expect(rpcBig.json.error.data.code).toBe("PAYLOAD_TOO_LARGE");
    expect(core.tenants.list()).toHaveLength(0);
    core.close();
  });

  test("a body without a declared length is cut off at the limit", async () => {
    const core = testCore({ config: { gateway: { limits: { adminBodyBytes: 1024 } } } });
    const key = adminKey(core);
    const { app } = testApp(core);
    const chunks = [new TextEncoder().encode('{"id":"acme","displayName":"'), new TextEncoder().encode("y".repeat(4000)), new TextEncoder().encode('"}')];
    const body = new ReadableStream({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const res = await app.handle(new Request("http://localhost/admin/v1/tenants", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body, duplex: "half" } as RequestInit));
    expect(res.status).toBe(413);
    core.close();
  });

  test("too many or too large headers get 431", async () => {
    const core = testCore({ config: { gateway: { limits: { maxHeaderBytes: 2048, maxHeaderCount: 20 } } } });
    const { call } = testApp(core);
    expect((await call("GET", "/healthz", { headers: { "x-pad": "p".repeat(3000) } })).status).toBe(431);
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`x-h${i}`, "1"]));
    const r = await call("GET", "/healthz", { headers: many });
    expect(r.status).toBe(431);
    expect(r.json.error.code).toBe("HEADERS_TOO_LARGE");
    expect((await call("GET", "/healthz")).status).toBe(200);
    core.close();
  });

  test("a real listener closes idle and slow clients", async () => {
    const core = testCore({ config: { gateway: { port: 0, limits: { idleTimeoutSeconds: 2 } } } });
    const gw = startGateway(core);
    const closesAfter = (payload: string) =>
      new Promise<number>((resolve, reject) => {
        const started = Date.now();
        const sock = net.connect(gw.port, "127.0.0.1", () => sock.write(payload));
        sock.on("data", () => {});
        sock.on("close", () => resolve(Date.now() - started));
        sock.on("error", () => {});
        setTimeout(() => reject(new Error("connection still open")), 20_000);
      });
    const [slowBody, idleKeepAlive, slowHeaders] = await Promise.all([
      closesAfter("POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"),
      closesAfter("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      closesAfter("GET /healthz HTTP/1.1\r\nHost: x\r\n"),
    ]);
    // gateway.limits.idleTimeoutSeconds governs bodies and idle keep-alives; Bun closes a client
    // that never finishes its headers after its own fixed ~10 s header timeout.
    expect(slowBody).toBeLessThan(6_000);
    expect(idleKeepAlive).toBeLessThan(6_000);
    expect(slowHeaders).toBeLessThan(16_000);
    await gw.stop();
  }, 30_000);
});

describe("authentication failures", () => {
  test("unknown tenant, suspended tenant, wrong secret, bad checksum, malformed, missing: one identical 401", async () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    const suspendedToken = createTenant(core, "sleepy");
    core.tenants.suspend(scope("sleepy"), operatorCtx);
    const revoked = createTenant(core, "rotated");
    core.tenants.rotateToken(scope("rotated"), 0, operatorCtx);
    const { call } = testApp(core);
    const wrongSecret = (() => {
      const other = createTenant(core, "zzz");
      return other.replace("ocmu_zzz_", "ocmu_acme_").slice(0, -6) + token.slice(-6); // valid shape, wrong everything
    })();
    const presented: (string | undefined)[] = [
      "ocmu_nobody_000SYW7RiJxkEgOGusQGwp1HRH4J",
      suspendedToken,
      revoked,
      wrongSecret,
      token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"),
      "not-a-token",
      "ocmu_admin_33RZVD0IvAoVVtaECqP8WR3Pwl0p",
      undefined,
    ];
    for (const surface of ["/rpc"]) {
      const bodies = new Set<string>();
      const statuses = new Set<number>();
      const headerSets = new Set<string>();
      for (const t of presented) {
        const r = await call("POST", surface, { token: t, body: { jsonrpc: "2.0", id: 1, method: "health" } });
        statuses.add(r.status);
        bodies.add(r.text);
        const h = [...r.headers.entries()].filter(([k]) => k !== "x-request-id" && k !== "date").sort().join("|");
        headerSets.add(h);
      }
      expect([...statuses]).toEqual([401]);
      expect(bodies.size).toBe(1);
      expect(headerSets.size).toBe(1);
    }
    const ok = await call("POST", "/rpc", { token, body: { jsonrpc: "2.0", id: 1, method: "health" } });
    expect(ok.status).toBe(200);
    // The control plane answers every bad credential alike too (the body differs only by request id).
    const adminBodies = new Set<string>();
    for (const t of [...presented, token]) {
      const r = await call("GET", "/admin/v1/status", { token: t });
      expect(r.status).toBe(401);
      adminBodies.add(JSON.stringify({ ...r.json.error, requestId: undefined }));
    }
    expect(adminBodies.size).toBe(1);
    core.close();
  });

  test("a tenant token on the control plane is a denied, audited admin attempt", async () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    const { call } = testApp(core);
    expect((await call("DELETE", "/admin/v1/tenants/acme", { token })).status).toBe(401);
    expect(core.tenants.exists("acme")).toBe(true);
    const denied = core.audit.query({ action: "admin.access", outcome: "denied" });
    expect(denied).toHaveLength(1);
    expect(denied[0]!.target).toEqual({ type: "route", id: "DELETE /admin/v1/tenants/acme" });
    expect(denied[0]!.actor.kind).toBe("tenant");
    core.close();
  });

  test("throttling: per IP and per (IP, identity), 429 with Retry-After for failing credentials only, audited", async () => {
    const core = testCore({ config: { gateway: { authThrottle: { perIpTenantMaxFailures: 3, perIpMaxFailures: 6, windowSeconds: 60, blockSeconds: 30 } } } });
    const token = createTenant(core, "acme");
    const beta = createTenant(core, "beta");
    const { call } = testApp(core);
    const attacker = "203.0.113.9";
    const bad = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call("POST", "/rpc", { token: bad, ip: attacker, body: { jsonrpc: "2.0", id: 1, method: "health" } })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const blocked = await call("POST", "/rpc", { token: bad, ip: attacker, body: { jsonrpc: "2.0", id: 1, method: "health" } });
    expect(blocked.status).toBe(429);
    const retry = Number(blocked.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(25);
    expect(retry).toBeLessThanOrEqual(30);
    // The named tenant's valid token still works from that address (a neighbour behind the same NAT
    // cannot lock it out), as it does from another client; another tenant from the same client too.
    expect((await call("POST", "/rpc", { token, ip: attacker, body: { jsonrpc: "2.0", id: 1, method: "health" } })).status).toBe(200);
    expect((await call("POST", "/rpc", { token, ip: "198.51.100.7", body: { jsonrpc: "2.0", id: 1, method: "health" } })).status).toBe(200);
    expect((await call("POST", "/rpc", { token: beta, ip: attacker, body: { jsonrpc: "2.0", id: 1, method: "health" } })).status).toBe(200);
    // Spraying many tenants from one IP trips the per-IP key: that address's failing credentials get 429…
    for (let i = 0; i < 6; i++) await call("POST", "/rpc", { token: `ocmu_t${i}_000SYW7RiJxkEgOGusQGwp1HRH4J`, ip: attacker });
    expect((await call("POST", "/rpc", { token: "ocmu_zz_000SYW7RiJxkEgOGusQGwp1HRH4J", ip: attacker })).status).toBe(429);
    // …its valid ones are served, and other addresses are untouched.
    expect((await call("POST", "/rpc", { token: beta, ip: attacker, body: { jsonrpc: "2.0", id: 1, method: "health" } })).status).toBe(200);
    expect((await call("POST", "/rpc", { token: "ocmu_zz_000SYW7RiJxkEgOGusQGwp1HRH4J", ip: "198.51.100.7" })).status).toBe(401);
    // Two trips from one source inside one window: one audit record, naming the claimed identity as
    // `claimed`, never as the record's tenant.
    const trips = core.audit.query({ action: "auth.throttle" });
    expect(trips.length).toBe(1);
    expect(trips[0]).toMatchObject({ outcome: "denied", target: { type: "client", id: attacker }, details: { claimed: "acme" } });
    expect(trips[0]!.tenant).toBeUndefined();
    core.close();
  });

  test("X-Forwarded-For is believed only from trusted proxies", async () => {
    const core = testCore({ config: { gateway: { trustedProxies: ["10.0.0.0/8"], authThrottle: { perIpTenantMaxFailures: 2, perIpMaxFailures: 100 } } } });
    const token = createTenant(core, "acme");
    const { call } = testApp(core);
    const bad = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    const rpcBody = { jsonrpc: "2.0", id: 1, method: "health" };
    // Through the trusted proxy, the real client (rightmost untrusted hop) is throttled…
    for (let i = 0; i < 2; i++) await call("POST", "/rpc", { token: bad, ip: "10.1.1.1", headers: { "x-forwarded-for": "1.2.3.4, 203.0.113.5, 10.0.0.2" }, body: rpcBody });
    expect((await call("POST", "/rpc", { token: bad, ip: "10.1.1.1", headers: { "x-forwarded-for": "203.0.113.5" }, body: rpcBody })).status).toBe(429);
    // …another client behind the same proxy is not…
    expect((await call("POST", "/rpc", { token: bad, ip: "10.1.1.1", headers: { "x-forwarded-for": "203.0.113.6" }, body: rpcBody })).status).toBe(401);
    // …and an untrusted peer cannot pick its address with the header.
    for (let i = 0; i < 2; i++) await call("POST", "/rpc", { token: bad, ip: "192.0.2.50", headers: { "x-forwarded-for": "203.0.113.77" }, body: rpcBody });
    expect((await call("POST", "/rpc", { token: bad, ip: "192.0.2.50", headers: { "x-forwarded-for": "203.0.113.78" }, body: rpcBody })).status).toBe(429);
    expect((await call("POST", "/rpc", { token: bad, ip: "192.0.2.51", headers: { "x-forwarded-for": "192.0.2.50" }, body: rpcBody })).status).toBe(401);
    expect((await call("POST", "/rpc", { token, ip: "192.0.2.50", body: rpcBody })).status).toBe(200);
    core.close();
  });
});

describe("response headers", () => {
  test("every response carries the OWASP set and a request id, errors included", async () => {
    const core = testCore();
    const key = adminKey(core);
    const { call } = testApp(core);
    for (const [m, p, t] of [["GET", "/healthz"], ["GET", "/admin/v1/status", key], ["GET", "/admin/v1/status"], ["GET", "/nowhere"], ["POST", "/rpc"]] as const) {
      const r = await call(m, p, { token: t });
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(r.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    }
    // A client's own id is never ours: the response carries the gateway's.
    expect((await call("GET", "/healthz", { headers: { "x-request-id": "trace-123" } })).headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    core.close();
  });

  test("health endpoints reveal nothing about tenants", async () => {
    const core = testCore();
    createTenant(core, "acme");
    const { call } = testApp(core);
    for (const p of ["/healthz", "/readyz"]) expect((await call("GET", p)).text).not.toContain("acme");
    expect((await call("GET", "/readyz")).json).toEqual({ status: "ready", checks: { database: true, auditLog: true, stateDisk: true, diskReserve: true, accepting: true } });
    core.close();
  });
});
