import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/core/clock.ts";
import { createTenant, operatorCtx, testCore, scope } from "../../helpers/core.ts";

describe("token verification", () => {
  test("the token verifies; unknown, suspended, wrong and malformed ones do not", () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    expect(core.tokens.verify(token)).toMatchObject({ ok: true, tenantId: "acme" });
    const forged = token.slice(0, -7) + (token.at(-7) === "A" ? "B" : "A") + token.slice(-6);
    expect(core.tokens.verify(forged)).toMatchObject({ ok: false, reason: "checksum" });
    expect(core.tokens.verify("ocmu_nobody_000SYW7RiJxkEgOGusQGwp1HRH4J".replace("acme", "nobody"))).toMatchObject({ ok: false });
    expect(core.tokens.verify("garbage")).toMatchObject({ ok: false, reason: "malformed" });
    const other = createTenant(core, "beta");
    const crossed = `ocmu_acme_${other.slice("ocmu_beta_".length)}`; // beta's secret under acme's id: checksum fails
    expect(core.tokens.verify(crossed).ok).toBe(false);
    core.tenants.suspend(scope("acme"), operatorCtx);
    expect(core.tokens.verify(token)).toMatchObject({ ok: false, reason: "suspended" });
    core.tenants.resume(scope("acme"), operatorCtx);
    expect(core.tokens.verify(token).ok).toBe(true);
    core.close();
  });

  test("a verifier (hash and parse done once) answers as verify does at each call: rotation, grace expiry, suspension", () => {
    const clock = new ManualClock(Date.parse("2026-11-29T10:00:00Z"));
    const core = testCore({ clock });
    const old = createTenant(core, "acme");
    const again = core.tokens.verifier(old);
    expect(again()).toMatchObject({ ok: true, tenantId: "acme" });
    const r = core.tenants.rotateToken(scope("acme"), 60_000, operatorCtx);
    expect(again().ok).toBe(true);
    clock.advance(60_000);
    expect(again()).toMatchObject({ ok: false, reason: "mismatch" });
    const fresh = core.tokens.verifier(r.token);
    expect(fresh().ok).toBe(true);
    core.tenants.suspend(scope("acme"), operatorCtx);
    expect(fresh()).toMatchObject({ ok: false, reason: "suspended" });
    core.tenants.resume(scope("acme"), operatorCtx);
    expect(fresh().ok).toBe(true);
    expect(core.tokens.verifier("garbage")()).toMatchObject({ ok: false, reason: "malformed" });
    core.close();
  });

  test("rotation without grace: the old token stops at once", () => {
    const core = testCore();
    const old = createTenant(core, "acme");
    const r = core.tenants.rotateToken(scope("acme"), 0, operatorCtx);
    expect(core.tokens.verify(old).ok).toBe(false);
    expect(core.tokens.verify(r.token).ok).toBe(true);
    expect(r.graceUntil).toBeNull();
    core.close();
  });

  test("rotation with grace: the old token works until the window ends, then never again", () => {
    const clock = new ManualClock(Date.parse("2026-11-29T10:00:00Z"));
    const core = testCore({ clock });
    const old = createTenant(core, "acme");
    const r = core.tenants.rotateToken(scope("acme"), 3_600_000, operatorCtx);
    expect(r.graceUntil).toBe("2026-11-29T11:00:00.000Z");
    clock.advance(3_599_000);
    expect(core.tokens.verify(old).ok).toBe(true);
    expect(core.tenants.get(scope("acme")).token.inGrace).toHaveLength(1);
    clock.advance(1_000);
    expect(core.tokens.verify(old).ok).toBe(false);
    expect(core.tokens.verify(r.token).ok).toBe(true);
    // A second rotation never extends the first token's window.
    const r2 = core.tenants.rotateToken(scope("acme"), 86_400_000, operatorCtx);
    expect(core.tokens.verify(old).ok).toBe(false);
    expect(core.tokens.verify(r.token).ok).toBe(true);
    expect(core.tokens.verify(r2.token).ok).toBe(true);
    core.close();
  });

  test("grace is bounded", () => {
    const core = testCore();
    createTenant(core, "acme");
    expect(() => core.tenants.rotateToken(scope("acme"), 31 * 86_400_000, operatorCtx)).toThrow(/30 days/);
    core.close();
  });

  test("delete removes every token hash", () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    core.tenants.remove(scope("acme"), operatorCtx);
    expect(core.tokens.verify(token).ok).toBe(false);
    const rows = core.handle.sqlite.query("SELECT count(*) AS n FROM tenant_tokens").get() as { n: number };
    expect(rows.n).toBe(0);
    core.close();
  });
});

describe("verification cache", () => {
  test("a change committed by another process is seen by the very next verification", () => {
    const gateway = testCore();
    const cli = testCore({ home: gateway.home });
    const token = createTenant(cli, "acme");
    expect(gateway.tokens.verify(token).ok).toBe(true);
    const rotated = cli.tenants.rotateToken(scope("acme"), 0, operatorCtx).token;
    expect(gateway.tokens.verify(token).ok).toBe(false);
    expect(gateway.tokens.verify(rotated).ok).toBe(true);
    cli.tenants.suspend(scope("acme"), operatorCtx);
    expect(gateway.tokens.verify(rotated)).toMatchObject({ ok: false, reason: "suspended" });
    cli.tenants.remove(scope("acme"), operatorCtx);
    expect(gateway.tokens.verify(rotated)).toMatchObject({ ok: false, reason: "unknown" });
    cli.close();
    gateway.close();
  });

  test("an unknown tenant that is created later is seen at once", () => {
    const gateway = testCore();
    const cli = testCore({ home: gateway.home });
    expect(gateway.tokens.verify("ocmu_late_000SYW7RiJxkEgOGusQGwp1HRH4J").ok).toBe(false);
    const token = createTenant(cli, "late");
    expect(gateway.tokens.verify(token).ok).toBe(true);
    cli.close();
    gateway.close();
  });
});
