// The console's cookie on the existing surfaces: POST /rpc (CSRF token + Origin), GET /rpc WebSocket
// (Origin required and our own), /admin/v1 (admin cookie, CSRF on non-GET); a session works only on
// its own face; a bearer credential, when presented, is used instead; and tenant A's cookie reaches
// nothing of B's.
import { afterEach, describe, expect, test } from "bun:test";
import { hashPrefix, sha256 } from "../../../src/lib/token-format.ts";
import { adminKey, scope } from "../../helpers/core.ts";
import { rawHandshake, WsClient } from "../../helpers/ws.ts";
import { consoleWorlds, openWs, originOf, rpcByCookie, signIn } from "./helpers.ts";

const world = consoleWorlds();
const clients: WsClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
const EVIL = "http://evil.example";

describe("POST /rpc by cookie", () => {
  test("runs a method with the CSRF token; a missing or wrong one is 403 naming the problem, and runs nothing", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const ok = await rpcByCookie(w.base, s, "tenants.get");
    expect(ok.status).toBe(200);
    expect(ok.body.result.tenantId).toBe("alpha");
    const missing = await rpcByCookie(w.base, { cookie: s.cookie, csrf: null }, "files.write", { path: "x.txt", content: "planted" });
    expect(missing.status).toBe(403);
    expect(missing.body.error.data.code).toBe("FORBIDDEN");
    expect(missing.body.error.message).toContain("x-csrf-token");
    const wrong = await rpcByCookie(w.base, { cookie: s.cookie, csrf: "A".repeat(43) }, "files.write", { path: "x.txt", content: "planted" });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.message).toContain("does not match");
    // Another session's CSRF token is not this one's.
    const other = await signIn(w.base, { token: w.a });
    expect((await rpcByCookie(w.base, { cookie: s.cookie, csrf: other.csrf }, "tenants.get")).status).toBe(403);
    const list = await rpcByCookie(w.base, s, "files.list", {});
    expect(JSON.stringify(list.body.result)).not.toContain("x.txt");
  });

  test("a cross-origin request is refused even with the right CSRF token; the gateway's own Origin is fine", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const evil = await rpcByCookie(w.base, s, "tenants.get", {}, { origin: EVIL });
    expect(evil.status).toBe(403);
    expect(evil.body.error.message).toContain("Origin");
    expect((await rpcByCookie(w.base, s, "tenants.get", {}, { origin: originOf(w.base) })).status).toBe(200);
  });

  test("an admin cookie never authorizes /rpc", async () => {
    const w = world();
    const admin = await signIn(w.base, { adminKey: adminKey(w.core) });
    const res = await rpcByCookie(w.base, admin, "tenants.get");
    expect(res.status).toBe(401);
    expect(res.body.error.data.code).toBe("UNAUTHORIZED");
  });

  test("a presented bearer is used instead of the cookie (a wrong bearer is not rescued by a good cookie)", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const asB = await rpcByCookie(w.base, s, "tenants.get", {}, { authorization: `Bearer ${w.b}` });
    expect(asB.body.result.tenantId).toBe("beta");
    expect((await rpcByCookie(w.base, s, "tenants.get", {}, { authorization: "Bearer wrong" })).status).toBe(401);
  });

  test("tenant A's cookie reaches nothing of B's: a tenantId naming B is NOT_FOUND, as an unknown tenant's is", async () => {
    const w = world();
    await w.core.files.write(scope("beta"), "secret.txt", new TextEncoder().encode("beta secret"));
    const s = await signIn(w.base, { token: w.a });
    for (const [method, params] of [
      ["tenants.get", {}],
      ["files.list", {}],
      ["files.read", { path: "secret.txt" }],
      ["tenants.usage", {}],
    ] as const) {
      const theirs = await rpcByCookie(w.base, s, method, { ...params, tenantId: "beta" });
      const none = await rpcByCookie(w.base, s, method, { ...params, tenantId: "nobody" });
      expect({ method, code: theirs.body.error?.data?.code }).toEqual({ method, code: "NOT_FOUND" });
      const norm = (b: unknown, id: string) => JSON.stringify(b).replace(id, "ID").replace(/req_[0-9a-f]{32}/, "REQ");
      expect(norm(theirs.body, "beta")).toBe(norm(none.body, "nobody"));
      expect(JSON.stringify(theirs.body)).not.toContain("beta secret");
    }
    // Its own file list does not show B's either; GET session names only alpha.
    expect(JSON.stringify((await rpcByCookie(w.base, s, "files.list", {})).body)).not.toContain("secret.txt");
    const own = (await (await fetch(`${w.base}/ui/api/session`, { headers: { cookie: s.cookie } })).json()) as any;
    expect(own.tenantId).toBe("alpha");
  });
});

describe("GET /rpc (WebSocket) by cookie", () => {
  test("with the gateway's own Origin it opens and runs a method as the session's tenant", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const c = await openWs(w.url, { cookie: s.cookie, origin: originOf(w.base) });
    clients.push(c);
    const r = await c.call("tenants.get", {});
    expect(r.result.tenantId).toBe("alpha");
    const other = await c.call("tenants.get", { tenantId: "beta" });
    expect(other.error.data.code).toBe("NOT_FOUND");
  });

  test("without an Origin, or from another origin, the handshake is refused", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const none = await rawHandshake(w.gw.port, "/rpc", { cookie: s.cookie });
    expect(none.status).toBe(403);
    expect(none.body).toContain("Origin");
    const evil = await rawHandshake(w.gw.port, "/rpc", { cookie: s.cookie, origin: EVIL });
    expect(evil.status).toBe(403);
    const own = await rawHandshake(w.gw.port, "/rpc", { cookie: s.cookie, origin: originOf(w.base) });
    expect(own.status).toBe(101);
    own.socket.destroy();
  });

  test("an origin listed in gateway.websocket.allowedOrigins may open it", async () => {
    const w = world({ websocket: { allowedOrigins: ["https://console.example"] } });
    const s = await signIn(w.base, { token: w.a });
    const listed = await rawHandshake(w.gw.port, "/rpc", { cookie: s.cookie, origin: "https://console.example" });
    expect(listed.status).toBe(101);
    listed.socket.destroy();
  });

  test("an admin cookie opens nothing; a signed-out session's open connection stops working", async () => {
    const w = world();
    const admin = await signIn(w.base, { adminKey: adminKey(w.core) });
    expect((await rawHandshake(w.gw.port, "/rpc", { cookie: admin.cookie, origin: originOf(w.base) })).status).toBe(401);
    const s = await signIn(w.base, { token: w.a });
    const c = await openWs(w.url, { cookie: s.cookie, origin: originOf(w.base) });
    clients.push(c);
    expect((await c.call("tenants.get", {})).result.tenantId).toBe("alpha");
    const out = await fetch(`${w.base}/ui/api/session`, { method: "DELETE", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });
    expect(out.status).toBe(204);
    // Its next frame finds the session gone: the connection is closed as an ended identity, unanswered.
    c.send({ jsonrpc: "2.0", id: 99, method: "tenants.get", params: {} });
    expect((await c.waitClosed()).code).toBe(4001);
    expect(c.messages.some((m) => m.id === 99 && m.result)).toBe(false);
  });
});

describe("a console session's open WebSocket once the session has ended (red team 19)", () => {
  test("after sign-out it is told nothing more: the next event closes it, unsent", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const c = await openWs(w.url, { cookie: s.cookie, origin: originOf(w.base) });
    clients.push(c);
    expect((await c.call("tenants.get", {})).result.tenantId).toBe("alpha");
    w.core.events.publish(scope("alpha"), { method: "rt19.before", params: {} });
    await c.next((m) => m.method === "rt19.before");
    const out = await fetch(`${w.base}/ui/api/session`, { method: "DELETE", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });
    expect(out.status).toBe(204);
    // The client sends nothing: what the gateway pushes must not reach a signed-out session.
    w.core.events.publish(scope("alpha"), { method: "rt19.after", params: { secret: "chat text" } });
    expect((await c.waitClosed()).code).toBe(4001);
    expect(c.messages.some((m) => m.method === "rt19.after")).toBe(false);
  });

  test("sign-out closes its WebSocket at once: no frame or event is needed to notice", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const c = await openWs(w.url, { cookie: s.cookie, origin: originOf(w.base) });
    clients.push(c);
    // A bearer connection of the same tenant (same token) and another session's stay open.
    const other = await signIn(w.base, { token: w.a });
    const c2 = await openWs(w.url, { cookie: other.cookie, origin: originOf(w.base) });
    clients.push(c2);
    expect((await c.call("tenants.get", {})).result.tenantId).toBe("alpha");
    const out = await fetch(`${w.base}/ui/api/session`, { method: "DELETE", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });
    expect(out.status).toBe(204);
    const t0 = performance.now();
    expect((await c.waitClosed()).code).toBe(4001);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect((await c2.call("tenants.get", {})).result.tenantId).toBe("alpha");
  });

  test("signing in again over a session replaces it, and closes the replaced session's WebSocket", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const c = await openWs(w.url, { cookie: s.cookie, origin: originOf(w.base) });
    clients.push(c);
    expect((await c.call("tenants.get", {})).result.tenantId).toBe("alpha");
    const again = await fetch(`${w.base}/ui/api/session`, { method: "POST", headers: { cookie: s.cookie, origin: originOf(w.base), "content-type": "application/json" }, body: JSON.stringify({ token: w.a }) });
    expect(again.status).toBe(200);
    expect((await c.waitClosed()).code).toBe(4001);
  });

  test("a session past its idle limit or lifetime is told nothing more either", async () => {
    const w = world({ console: { idleTimeoutSeconds: 60 } });
    const s = await signIn(w.base, { token: w.a });
    const c = await openWs(w.url, { cookie: s.cookie, origin: originOf(w.base) });
    clients.push(c);
    expect((await c.call("tenants.get", {})).result.tenantId).toBe("alpha");
    w.core.handle.sqlite.query("UPDATE console_sessions SET expires_at = ?1 WHERE tenant_id = 'alpha'").run(Date.now() - 1);
    w.core.events.publish(scope("alpha"), { method: "rt19.after", params: {} });
    expect((await c.waitClosed()).code).toBe(4001);
    expect(c.messages.some((m) => m.method === "rt19.after")).toBe(false);
  });

  test("frames on the WebSocket are use: a session busy only over its WebSocket does not go idle", async () => {
    const w = world({ console: { idleTimeoutSeconds: 60 } });
    const s = await signIn(w.base, { token: w.a });
    const c = await openWs(w.url, { cookie: s.cookie, origin: originOf(w.base) });
    clients.push(c);
    const sqlite = w.core.handle.sqlite;
    // The last HTTP use was 50 s ago; a frame now is a use, so 50 s later the session is still live.
    sqlite.query("UPDATE console_sessions SET last_used_at = ?1 WHERE tenant_id = 'alpha'").run(Date.now() - 50_000);
    expect((await c.call("tenants.get", {})).result.tenantId).toBe("alpha");
    const row = sqlite.query("SELECT last_used_at AS t FROM console_sessions WHERE tenant_id = 'alpha'").get() as { t: number };
    expect(Date.now() - row.t).toBeLessThan(20_000);
  });
});

describe("/admin/v1 by cookie", () => {
  test("GET needs no CSRF token; a change needs it (403 without or wrong), and a cross-origin one is refused", async () => {
    const w = world();
    const key = adminKey(w.core);
    const s = await signIn(w.base, { adminKey: key });
    const get = await fetch(`${w.base}/admin/v1/tenants`, { headers: { cookie: s.cookie } });
    expect(get.status).toBe(200);
    const create = (headers: Record<string, string>, id: string) =>
      fetch(`${w.base}/admin/v1/tenants`, { method: "POST", headers: { cookie: s.cookie, "content-type": "application/json", ...headers }, body: JSON.stringify({ id }) });
    const without = await create({}, "gamma");
    expect(without.status).toBe(403);
    expect(((await without.json()) as any).error.message).toContain("x-csrf-token");
    expect((await create({ "x-csrf-token": "nope" }, "gamma")).status).toBe(403);
    expect((await create({ "x-csrf-token": s.csrf, origin: EVIL }, "gamma")).status).toBe(403);
    expect(w.core.tenants.exists("gamma")).toBe(false);
    const made = await create({ "x-csrf-token": s.csrf, origin: originOf(w.base) }, "gamma");
    expect(made.status).toBeLessThan(300);
    expect(w.core.tenants.exists("gamma")).toBe(true);
    // The change is the admin key's holder's, in the audit log.
    const rec = w.core.audit.query({ action: "tenant.create", tenant: "gamma" })[0]!;
    expect(rec.actor).toEqual({ kind: "admin", id: hashPrefix(sha256(key), "adm") });
  });

  test("a tenant cookie never authorizes /admin/v1", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const get = await fetch(`${w.base}/admin/v1/tenants`, { headers: { cookie: s.cookie } });
    expect(get.status).toBe(401);
    const post = await fetch(`${w.base}/admin/v1/tenants`, { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" }, body: JSON.stringify({ id: "gamma" }) });
    expect(post.status).toBe(401);
    expect(w.core.tenants.exists("gamma")).toBe(false);
    // Audited as a tenant's bearer token there is: a denied admin.access by the tenant, naming the route.
    const denied = w.core.audit.query({ action: "admin.access", outcome: "denied" });
    expect(denied.map((r) => [r.tenant, r.actor.kind, r.target?.id, r.details?.reason])).toEqual([
      ["alpha", "tenant", "POST /admin/v1/tenants", "tenant console session used on the control plane"],
      ["alpha", "tenant", "GET /admin/v1/tenants", "tenant console session used on the control plane"],
    ]);
  });
});
