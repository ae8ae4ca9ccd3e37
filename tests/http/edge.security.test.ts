// The edge under attack: authentication throttling that a neighbour cannot turn against other
// tenants, bounded audit records per source, malformed requests over raw TCP to a real gateway
// process, and request ids a client cannot choose.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import path from "node:path";
import { ManualClock } from "../../src/core/clock.ts";
import { API_HEADERS } from "../../src/edge/security-headers.ts";
import { sourceNetwork } from "../../src/http/client-ip.ts";
import { adminKey, createTenant, makeHome, testApp, testCore } from "../helpers/core.ts";

const ROOT = path.join(import.meta.dir, "..", "..");
const rpcBody = { jsonrpc: "2.0", id: 1, method: "health" };
const madeUp = (i: number) => `ocmu_made-up-${i}_000SYW7RiJxkEgOGusQGwp1HRH4J`;

describe("authentication throttle", () => {
  test("1,000 failures from one address for made-up tenants never stop a valid token from that address", async () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    const { call } = testApp(core);
    const nat = "203.0.113.10";
    const statuses = new Set<number>();
    for (let i = 0; i < 1000; i++) statuses.add((await call("POST", "/rpc", { token: madeUp(i), ip: nat, body: rpcBody })).status);
    expect(statuses).toEqual(new Set([401, 429])); // the source was throttled…
    const ok = await call("POST", "/rpc", { token, ip: nat, body: rpcBody });
    expect(ok.status).toBe(200); // …and the tenant behind the same address is served
    expect(ok.json.result.tenantId).toBe("acme");
    expect((await call("GET", "/v1/models", { token, ip: nat })).status).toBe(200);
    core.close();
  });

  test("audit records one source can cause are bounded: one per window, the claimed tenant never as `tenant`", async () => {
    const clock = new ManualClock(Date.parse("2026-12-01T00:00:00Z"));
    const core = testCore({ clock, config: { gateway: { authThrottle: { windowSeconds: 60, blockSeconds: 1, maxBlockSeconds: 1 } } } });
    createTenant(core, "victim");
    const { call } = testApp(core);
    const before = core.audit.head().seq;
    // Each second the blocks expire, so the source trips again and again: 10 minutes of attack.
    for (let s = 0; s < 600; s++) {
      for (let i = 0; i < 35; i++) await call("POST", "/rpc", { token: `ocmu_victim_${String(s * 100 + i).padStart(22, "0")}AAAAAA`, ip: "198.51.100.66", body: rpcBody });
      clock.advance(1000);
    }
    const records = core.audit.query({ limit: 1000 }).filter((r) => r.seq > before);
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThanOrEqual(11); // one per 60 s window (plus the first)
    for (const r of records) {
      expect(r.action).toBe("auth.throttle");
      expect(r.tenant).toBeUndefined(); // attacker-chosen: kept as `claimed` only
      expect(r.details).toMatchObject({ claimed: "victim" });
    }
    expect(core.audit.query({ tenant: "victim" })).toHaveLength(1); // only its own creation
    expect(records.some((r) => Number(r.details?.unauditedTrips) > 0)).toBe(true);
    core.close();
  });

  test("per (address, identity) throttling still blocks guessing a tenant's token", async () => {
    const core = testCore({ config: { gateway: { authThrottle: { perIpTenantMaxFailures: 5, perIpMaxFailures: 1000 } } } });
    const token = createTenant(core, "acme");
    const { call } = testApp(core);
    const guess = (n: number) => `ocmu_acme_${String(n).padStart(22, "0")}AAAAAA`;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await call("POST", "/rpc", { token: guess(i), ip: "192.0.2.7", body: rpcBody })).status);
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual(Array(15).fill(429)); // every further guess is refused as throttled
    const r = await call("POST", "/rpc", { token: guess(99), ip: "192.0.2.7", body: rpcBody });
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    // Only that pair: the same guesses from elsewhere, or other identities from there, are not throttled.
    expect((await call("POST", "/rpc", { token: guess(100), ip: "192.0.2.8", body: rpcBody })).status).toBe(401);
    expect((await call("POST", "/rpc", { token: madeUp(1), ip: "192.0.2.7", body: rpcBody })).status).toBe(401);
    // The tenant's own token from that address is served.
    expect((await call("POST", "/rpc", { token, ip: "192.0.2.7", body: rpcBody })).status).toBe(200);
    core.close();
  });

  test("one tenant's cross-tenant denials throttle only its own denied calls", async () => {
    const core = testCore({ config: { gateway: { authThrottle: { perIpTenantMaxFailures: 3, perIpMaxFailures: 5 } } } });
    const mallory = createTenant(core, "mallory");
    const bob = createTenant(core, "bob");
    const { rpc } = testApp(core);
    const ip = "203.0.113.50";
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push((await rpc(mallory, "tenants.get", { tenantId: "bob" }, { ip })).error.data.code);
    expect(codes.slice(0, 3)).toEqual(["NOT_FOUND", "NOT_FOUND", "NOT_FOUND"]);
    expect(codes.at(-1)).toBe("RATE_LIMITED");
    expect((await rpc(bob, "tenants.get", {}, { ip })).result.tenantId).toBe("bob");
    expect((await rpc(mallory, "tenants.get", {}, { ip })).result.tenantId).toBe("mallory");
    core.close();
  });
});

describe("authentication throttle: sources, not addresses (red team 11, finding 14)", () => {
  const v6 = (i: number) => `2001:db8:aa:bb:${((i * 7919) % 0xffff).toString(16)}:${i.toString(16)}:1:${(i % 9) + 1}`;

  test("twenty addresses of one IPv6 /64 are one source: one budget, one audit record a window", async () => {
    const clock = new ManualClock(Date.parse("2026-12-01T00:00:00Z"));
    const core = testCore({ clock, config: { gateway: { authThrottle: { perIpMaxFailures: 30, windowSeconds: 60, blockSeconds: 1, maxBlockSeconds: 1 } } } });
    const token = createTenant(core, "acme");
    const { call } = testApp(core);
    const before = core.audit.head().seq;
    const statuses: number[] = [];
    // Twenty addresses, ten wrong admin keys each: 200 failures, as in the report.
    for (let a = 0; a < 20; a++) for (let i = 0; i < 10; i++) statuses.push((await call("GET", "/admin/v1/tenants", { token: `wrong-${a}-${i}`, ip: v6(a) })).status);
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(180); // the budget is the /64's, not each address's
    const records = core.audit.query({ action: "auth.throttle", limit: 1000 }).filter((r) => r.seq > before);
    expect(records).toHaveLength(1);
    expect(records[0]!.target).toEqual({ type: "client", id: "2001:db8:aa:bb::/64" });
    // Another /64 is another source; a valid credential from the blocked one is still served.
    expect((await call("GET", "/admin/v1/tenants", { token: "wrong", ip: "2001:db8:aa:cc::1" })).status).toBe(401);
    expect((await call("POST", "/rpc", { token, ip: v6(3), body: rpcBody })).status).toBe(200);
    core.close();
  });

  test("what counts as one source", () => {
    expect(sourceNetwork("2001:db8:aa:bb:1:2:3:4", 64)).toBe("2001:db8:aa:bb::/64");
    expect(sourceNetwork("2001:0DB8:00aa:bb::9", 64)).toBe("2001:db8:aa:bb::/64");
    expect(sourceNetwork("fe80::1%eth0", 64)).toBe("fe80:0:0:0::/64");
    expect(sourceNetwork("::1", 64)).toBe("0:0:0:0::/64");
    expect(sourceNetwork("64:ff9b::198.51.100.7", 96)).toBe("64:ff9b:0:0:0:0::/96");
    expect(sourceNetwork("2001:db8:aa:bb:1:2:3:4", 56)).toBe("2001:db8:aa:0::/56");
    expect(sourceNetwork("2001:db8:aa:bb:1:2:3:4", 128)).toBe("2001:db8:aa:bb:1:2:3:4/128");
    expect(sourceNetwork("198.51.100.7", 64)).toBe("198.51.100.7");
  });

  test("IPv4 addresses stay separate sources", async () => {
    const core = testCore({ config: { gateway: { authThrottle: { perIpMaxFailures: 5, perIpTenantMaxFailures: 100 } } } });
    const { call } = testApp(core);
    for (let i = 0; i < 5; i++) await call("GET", "/admin/v1/tenants", { token: "wrong", ip: "198.51.100.1" });
    expect((await call("GET", "/admin/v1/tenants", { token: "wrong", ip: "198.51.100.1" })).status).toBe(429);
    expect((await call("GET", "/admin/v1/tenants", { token: "wrong", ip: "198.51.100.2" })).status).toBe(401);
    core.close();
  });

  test("throttle records are capped per window across all sources; the rest are counted in one summary record", async () => {
    const clock = new ManualClock(Date.parse("2026-12-01T00:00:00Z"));
    const core = testCore({ clock, config: { gateway: { authThrottle: { perIpMaxFailures: 3, perIpTenantMaxFailures: 100, windowSeconds: 60, maxAuditRecordsPerWindow: 5 } } } });
    const { call } = testApp(core);
    const before = core.audit.head().seq;
    // 100 IPv4 sources (or 100 IPv6 /64s) each trip the throttle once in the same window.
    for (let a = 0; a < 100; a++) {
      const ip = a % 2 ? `198.51.${Math.floor(a / 250)}.${a % 250}` : `2001:db8:${a.toString(16)}::1`;
      for (let i = 0; i < 3; i++) await call("GET", "/admin/v1/tenants", { token: "wrong", ip });
    }
    const inWindow = core.audit.query({ limit: 1000 }).filter((r) => r.seq > before);
    expect(inWindow.map((r) => r.action)).toEqual(Array(5).fill("auth.throttle"));
    // The next failure after the window ends writes the summary of the 95 left out.
    clock.advance(61_000);
    await call("GET", "/admin/v1/tenants", { token: "wrong", ip: "203.0.113.1" });
    const summary = core.audit.query({ action: "auth.throttle.summary" });
    expect(summary).toHaveLength(1);
    expect(summary[0]!.details).toMatchObject({ unauditedTrips: 95, sources: 95 });
    expect(core.audit.query({ limit: 1000 }).filter((r) => r.seq > before)).toHaveLength(6);
    core.close();
  });
});

describe("request ids", () => {
  test("a client's x-request-id is kept as clientRequestId; the record's requestId is always ours", async () => {
    const core = testCore();
    const key = adminKey(core);
    const { call, rpc } = testApp(core);
    for (const id of ["t1", "t2"]) await call("POST", "/admin/v1/tenants", { token: key, body: { id }, headers: { "x-request-id": "chosen-by-client" } });
    const token = createTenant(core, "acme");
    await rpc(token, "config.set", { config: { agent: { maxTokens: 10 } } }, { headers: { "x-request-id": "chosen-by-client" } });
    await rpc(token, "tenants.get", { tenantId: "t1" }, { headers: { "x-request-id": "chosen-by-client" } }); // denied, audited
    const recs = core.audit.query({ limit: 100 }).filter((r) => r.clientRequestId === "chosen-by-client");
    expect(recs.map((r) => r.action).sort()).toEqual(["tenant.config.set", "tenant.create", "tenant.create", "tenants.get"]);
    for (const r of recs) expect(r.requestId).toMatch(/^req_[0-9a-f]{32}$/);
    expect(new Set(recs.map((r) => r.requestId)).size).toBe(recs.length);
    expect(core.audit.query({ limit: 100 }).some((r) => r.requestId === "chosen-by-client")).toBe(false);
    // A client id that is not short and plain is dropped, not stored.
    await call("POST", "/admin/v1/tenants", { token: key, body: { id: "t3" }, headers: { "x-request-id": "x".repeat(65) } });
    expect(core.audit.query({ action: "tenant.create", limit: 1 })[0]!.clientRequestId).toBeUndefined();
    core.close();
  });
});

// A real gateway process, so what reaches stderr can be read too.
describe("malformed requests over raw TCP", () => {
  let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  let port = 0;
  let stderr = "";
  beforeAll(async () => {
    const home = makeHome();
    proc = Bun.spawn(["bun", "src/main.ts", "gateway", "--port", "0", "--json"], { cwd: ROOT, env: { PATH: process.env.PATH!, OPENCLAW_HOME: home }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    void (async () => {
      for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
    })();
    const reader = proc.stdout.getReader();
    let out = "";
    while (!out.includes("\n")) out += new TextDecoder().decode((await reader.read()).value);
    port = JSON.parse(out.split("\n")[0]!).port;
  });
  afterAll(async () => {
    proc.kill("SIGTERM");
    await proc.exited;
  });

  function raw(text: string): Promise<string> {
    return new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write(text));
      let out = "";
      s.on("data", (d) => (out += d.toString("latin1")));
      s.on("close", () => resolve(out));
      s.on("error", () => resolve(out));
      setTimeout(() => s.destroy(), 3000);
    });
  }

  function parse(response: string) {
    const [head = "", ...body] = response.split("\r\n\r\n");
    const [statusLine = "", ...lines] = head.split("\r\n");
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
    return { status: Number(statusLine.split(" ")[1]), headers, body: body.join("\r\n\r\n") };
  }

  const cases: [string, string, number][] = [
    ["HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", 400],
    ["HTTP/1.0 without Host, with a body", 'POST /rpc HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}', 400],
    ["HTTP/1.0 with Host", "GET /healthz HTTP/1.0\r\nHost: gw\r\n\r\n", 200],
    ["an empty Host", "GET /healthz HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n", 400],
    ["an invalid Host", "GET /admin/v1/status HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n", 400],
    ["a bad percent-encoding", "GET /%zz%00 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n", 404],
    ["an absolute-form URL", "GET http://elsewhere.example/admin/v1/status HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n", 401],
    ["an odd method", "PROPFIND /rpc HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n", 401],
    ["TRACE", "TRACE /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n", 404],
  ];

  test.each(cases)("%s: the security headers, a request id and exactly one access-log line", async (_name, request, status) => {
    const res = parse(await raw(request));
    expect(res.status).toBe(status);
    for (const [k, v] of Object.entries(API_HEADERS)) expect(res.headers.get(k)).toBe(v);
    const requestId = res.headers.get("x-request-id")!;
    expect(requestId).toMatch(/^req_[0-9a-f]{32}$/);
    await Bun.sleep(150); // the access line is written after the response
    const lines = stderr.split("\n").filter(Boolean);
    // Every stderr line is a JSON log line: no source excerpt or stack trace.
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    const access = lines.map((l) => JSON.parse(l)).filter((l) => l.tag === "access" && l.requestId === requestId);
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ status });
  });

  test("what Bun's own parser refuses carries no content, and the gateway keeps serving", async () => {
    // An HTTP/1.1 request without Host and an unknown method never reach the gateway's code (Bun has
    // no hook for them): Bun closes the connection, at most with a bodiless 400.
    for (const request of ["GET /healthz HTTP/1.1\r\n\r\n", "BREW /healthz HTTP/1.1\r\nHost: gw\r\n\r\n"]) {
      const out = await raw(request);
      if (out) expect(parse(out)).toMatchObject({ status: 400, body: "" });
    }
    expect(parse(await raw("GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")).status).toBe(200);
  });
});
