// The tenant lifecycle hook: which changes announce a stop to the onTenantStopped listeners (suspend,
// delete, a token's end — not resume, not a rotation that ends no token), what another process's
// changes look like to live work (watched by polling), and the sandbox's listener: it kills exactly
// the runs the stop concerns and closes their egress at once.
import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/core/clock.ts";
import { createLiveRuns } from "../../../src/modules/sandbox/live-runs.ts";
import type { TenantStop } from "../../../src/modules/tenants/tenant-lifecycle.ts";
import { createTenant, operatorCtx, testCore, scope } from "../../helpers/core.ts";

const until = async (cond: () => boolean, ms = 3000) => {
  for (let t = 0; t < ms && !cond(); t += 25) await Bun.sleep(25);
};

describe("onTenantStopped", () => {
  test("suspend, a token's end and delete are announced, each once, with the incarnation; resume and a graceful first rotation are not", () => {
    const core = testCore();
    createTenant(core, "acme");
    const inc = core.tenants.incarnation("acme")!;
    const stops: TenantStop[] = [];
    core.tenants.onTenantStopped((s) => void stops.push(s));
    core.tenants.suspend(scope("acme"), operatorCtx);
    core.tenants.resume(scope("acme"), operatorCtx);
    core.tenants.rotateToken(scope("acme"), 3_600_000, operatorCtx); // the old token stays in grace: nothing ends
    const inGrace = core.tenants.get(scope("acme")).token.inGrace.length;
    core.tenants.rotateToken(scope("acme"), 0, operatorCtx); // ends both
    core.tenants.remove(scope("acme"), operatorCtx);
    expect(inGrace).toBe(1);
    expect(stops.map((s) => [s.reason, s.incarnation, s.tokens?.length ?? 0])).toEqual([
      ["suspended", inc, 0],
      ["token-revoked", inc, 2],
      ["deleted", inc, 0],
    ]);
    expect(stops[1]!.tokens!.every((t) => t.startsWith("tok:"))).toBe(true);
    core.close();
  });

  test("live work notices another process's changes: suspend, delete and re-create, and a token whose grace ends", async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const core = testCore({ clock });
    const token = createTenant(core, "acme");
    const actor = core.tokens.verify(token);
    if (!actor.ok) throw new Error("token does not verify");
    const stops: TenantStop[] = [];
    core.tenants.onTenantStopped((s) => void stops.push(s));
    const other = testCore({ home: core.home, clock }); // the CLI, on the same home

    const inc = core.tenants.incarnation("acme")!;
    const w1 = core.tenants.watchWork({ tenantId: "acme", incarnation: inc, token: actor.actorId });
    other.tenants.rotateToken(scope("acme"), 60_000, operatorCtx);
    await Bun.sleep(400);
    expect(stops).toEqual([]); // still in grace
    clock.advance(61_000);
    await until(() => stops.length > 0);
    expect(stops).toEqual([{ tenantId: "acme", incarnation: inc, reason: "token-revoked", tokens: [actor.actorId] }]);
    w1.end();

    const w2 = core.tenants.watchWork({ tenantId: "acme", incarnation: inc });
    other.tenants.remove(scope("acme"), operatorCtx);
    createTenant(other, "acme");
    await until(() => stops.length > 1);
    expect(stops[1]).toEqual({ tenantId: "acme", incarnation: inc, reason: "deleted" });
    expect(w2.check()).toBe("deleted");
    w2.end();

    const inc2 = other.tenants.incarnation("acme")!;
    const w3 = core.tenants.watchWork({ tenantId: "acme", incarnation: inc2 });
    expect(w3.check()).toBeNull();
    other.tenants.suspend(scope("acme"), operatorCtx);
    await until(() => stops.length > 2);
    expect(stops[2]).toEqual({ tenantId: "acme", incarnation: inc2, reason: "suspended" });
    await Bun.sleep(400);
    expect(stops).toHaveLength(3); // once per piece of work
    w3.end();
    other.close();
    core.close();
  });
});

describe("the sandbox's listener", () => {
  test("kills the stopped incarnation's runs (for a token: only the runs that token started), closes their egress at once, and settles when they end", async () => {
    const live = createLiveRuns({ watch: () => ({ check: () => null, end: () => {} }) });
    let closed = 0;
    const a = live.begin({ tenantId: "acme", incarnation: "i1", token: "tok:a" });
    a.attachProxy(async () => void closed++);
    const b = live.begin({ tenantId: "acme", incarnation: "i1", token: "tok:b" });
    const op = live.begin({ tenantId: "acme", incarnation: "i1" });
    const newer = live.begin({ tenantId: "acme", incarnation: "i2" });
    const other = live.begin({ tenantId: "beta", incarnation: "i1" });

    const ending = live.stop({ tenantId: "acme", incarnation: "i1", reason: "token-revoked", tokens: ["tok:a"] });
    expect([a.signal.aborted, b.signal.aborted, op.signal.aborted]).toEqual([true, false, false]);
    expect(a.reason).toBe("token-revoked");
    expect(closed).toBe(1);
    expect(() => a.assertLive()).toThrow("revoked");
    let settled = false;
    void ending!.then(() => (settled = true));
    await Bun.sleep(10);
    expect(settled).toBe(false); // the run has not ended yet
    a.end();
    await Bun.sleep(0);
    expect(settled).toBe(true);

    live.stop({ tenantId: "acme", incarnation: "i1", reason: "deleted" });
    expect([b.reason, op.reason, newer.reason, other.reason]).toEqual(["tenant-deleted", "tenant-deleted", null, null]);
    expect(live.stop({ tenantId: "gamma", incarnation: "x", reason: "suspended" })).toBeNull();
    for (const r of [b, op, newer, other]) r.end();
    expect(live.count()).toBe(0);
  });
});
