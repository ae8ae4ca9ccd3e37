// Sign-out and the session's WebSockets (red team 20): the signed-out session's sockets close as the
// sign-out is answered — a frame still running gets no answer (F1); only that session's sockets are
// touched, none of the tenant's others is asked anything, so a check failing for another reason closes
// nothing (F2); a session the cap evicts at a sign-in has its sockets closed then too; and sign-ins take
// from the tenant's audited-change budget (F3), while a sign-out is never refused.
import { afterEach, describe, expect, test } from "bun:test";
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../../src/edge/rpc.ts";
import { defineModule } from "../../../src/modules/module.ts";
import { wsWorld, type WsClient, type WsWorld } from "../../helpers/ws.ts";
import { openWs, originOf, signIn } from "./helpers.ts";

/** A method that holds until the test lets it go, then answers something read "now". */
let started: () => void = () => {};
let release: () => void = () => {};
const slowModule = defineModule({ name: "rt20slow", create: () => ({}) }).with({
  rpc: () => [
    defineTenantMethod({
      name: "test.slow",
      summary: "answers once released",
      params: {},
      result: T.String(),
      mutates: false,
      example: {},
      handler: () =>
        new Promise<string>((res) => {
          release = () => res("READ-AFTER-SIGNOUT");
          started();
        }),
    }),
  ],
});

const worlds: WsWorld[] = [];
const clients: WsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const w of worlds.splice(0)) await w.close();
});
function world(gateway: Record<string, unknown> = {}) {
  const w = wsWorld(gateway, [slowModule]);
  worlds.push(w);
  return { ...w, base: w.gw.url };
}
async function ws(w: { url: string; base: string }, cookie: string) {
  const c = await openWs(w.url, { cookie, origin: originOf(w.base) });
  clients.push(c);
  return c;
}
const signOut = (base: string, s: { cookie: string; csrf: string }) => fetch(`${base}/ui/api/session`, { method: "DELETE", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });

describe("sign-out and the session's WebSockets (red team 20)", () => {
  test("a frame still running at sign-out is not answered: the socket closes as the sign-out is answered", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const c = await ws(w, s.cookie);
    const running = new Promise<void>((res) => (started = res));
    c.send({ jsonrpc: "2.0", id: 41, method: "test.slow", params: {} });
    await running;
    expect((await signOut(w.base, s)).status).toBe(204);
    // What the method reads after the sign-out is never told to the signed-out socket.
    release();
    expect((await c.waitClosed(1500)).code).toBe(4001);
    expect(c.messages.some((m) => m.id === 41)).toBe(false);
    expect(JSON.stringify(c.messages)).not.toContain("READ-AFTER-SIGNOUT");
  });

  test("sign-out asks nothing of the tenant's other connections: a check failing for another reason closes none of them", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const other = await signIn(w.base, { token: w.a });
    const c = await ws(w, s.cookie);
    const c2 = await ws(w, other.cookie);
    const bearer = await openWs(w.url, { authorization: `Bearer ${w.a}` });
    clients.push(bearer);
    const sessions = w.core.consoleSessions as { alive(id: string): boolean };
    const alive = sessions.alive;
    let asked = 0;
    // The database hiccups for every check made while the sign-out runs.
    sessions.alive = () => {
      asked++;
      throw new Error("database is locked");
    };
    try {
      expect((await signOut(w.base, s)).status).toBe(204);
    } finally {
      sessions.alive = alive;
    }
    expect((await c.waitClosed(1000)).code).toBe(4001);
    expect(asked).toBe(0);
    expect((await c2.call("tenants.get", {})).result.tenantId).toBe("alpha");
    expect((await bearer.call("tenants.get", {})).result.tenantId).toBe("alpha");
  });

  test("a session the cap evicts at a sign-in has its WebSockets closed by that sign-in", async () => {
    const w = world({ console: { maxSessionsPerTenant: 1 } });
    const s = await signIn(w.base, { token: w.a });
    const c = await ws(w, s.cookie);
    expect((await c.call("tenants.get", {})).result.tenantId).toBe("alpha");
    const next = await signIn(w.base, { token: w.a });
    expect(next.status).toBe(200);
    expect((await c.waitClosed(1000)).code).toBe(4001);
    expect((await (await ws(w, next.cookie)).call("tenants.get", {})).result.tenantId).toBe("alpha");
  });
});

describe("sign-ins take from the tenant's audited-change budget (red team 20, F3)", () => {
  test("past the budget a sign-in is 429 RATE_LIMITED naming the limit, creates and audits nothing; another tenant and sign-out are unaffected", async () => {
    const w = world({ limits: { tenantChangesPerMinute: 1, tenantChangesBurst: 3 } });
    const ok = [await signIn(w.base, { token: w.a }), await signIn(w.base, { token: w.a }), await signIn(w.base, { token: w.a })];
    for (const s of ok) expect(s.status).toBe(200);
    const audited = () => w.core.audit.query({ action: "console.signin", tenant: "alpha", limit: 100 }).length;
    const before = audited();
    const refused = await signIn(w.base, { token: w.a });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("RATE_LIMITED");
    expect(refused.body.error.message).toContain("gateway.limits.tenantChangesPerMinute");
    expect(refused.setCookie).toBeNull();
    expect(audited()).toBe(before);
    expect((await signIn(w.base, { token: w.b })).status).toBe(200);
    // Signing out is never refused for want of budget.
    expect((await signOut(w.base, ok[0]!)).status).toBe(204);
  });
});
