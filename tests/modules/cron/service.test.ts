// The cron service as the surfaces call it: tenant A can neither see, get, change, run, remove nor
// read the runs of tenant B's job (the same NOT_FOUND as a job that does not exist, B's job unchanged);
// add, update and remove are audited; list and runs page.
import { afterEach, describe, expect, test } from "bun:test";
import { scope } from "../../helpers/core.ts";
import { cronWorld, MIN, START, type CronWorld } from "./world.ts";

let w: CronWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

const asTenant = { actor: { kind: "tenant" as const, id: "tok:abc" }, requestId: "req_1" };

function errorOf(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return { code: (e as any).code, message: (e as Error).message, details: (e as any).details };
  }
  return null;
}
async function asyncErrorOf(p: () => Promise<unknown>): Promise<any> {
  try {
    await p();
  } catch (e) {
    return { code: (e as any).code, message: (e as Error).message, details: (e as any).details };
  }
  return null;
}

describe("cron service", () => {
  test("isolation: A naming B's job gets exactly what naming a job that does not exist gets; B's job is unchanged and still fires", async () => {
    w = cronWorld();
    const b = w.add("beta", { name: "beta secret job", schedule: { kind: "every", everyMs: MIN } });
    const A = scope("alpha");
    const none = "00000000-0000-4000-8000-000000000000";
    for (const id of [b.id, none]) {
      const expected = { code: "NOT_FOUND", message: "cron job not found", details: undefined };
      expect(errorOf(() => w!.core.cron.get(A, id))).toEqual(expected);
      expect(errorOf(() => w!.core.cron.update(A, id, { enabled: false }, asTenant))).toEqual(expected);
      expect(errorOf(() => w!.core.cron.remove(A, id, asTenant))).toEqual(expected);
      expect(errorOf(() => w!.core.cron.runs(A, { id }))).toEqual(expected);
      expect(await asyncErrorOf(() => w!.core.cron.runNow(A, id, asTenant))).toEqual(expected);
    }
    expect(w.core.cron.list(A, { includeDisabled: true }).total).toBe(0);
    expect(JSON.stringify(w.core.cron.list(A, { includeDisabled: true, query: "beta" }))).not.toContain("beta secret");
    expect(w.core.cron.status(A)).toMatchObject({ jobCount: 0, enabledJobCount: 0, nextWakeAtMs: null });
    await w.runUntil(START + MIN);
    expect(w.core.cron.runs(A, {}).total).toBe(0);
    expect(w.core.cron.get(scope("beta"), b.id)).toMatchObject({ name: "beta secret job", enabled: true });
    expect(w.runs("beta", b.id).map((r) => r.status)).toEqual(["ok"]);
  });

  test("add, update and remove are audited with the actor; list pages and searches; runs filter by status", async () => {
    w = cronWorld();
    const A = scope("alpha");
    const a = w.core.cron.add(A, { name: "Nightly report", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "false" } }, asTenant);
    const b = w.core.cron.add(A, { name: "other", enabled: false, schedule: { kind: "cron", expr: "0 0 * * *" }, payload: { kind: "exec", command: "true" } }, asTenant);
    expect(b.state.nextRunAtMs).toBeNull();
    w.core.cron.update(A, a.id, { description: "d" }, asTenant);
    await w.runUntil(START + 2 * MIN);
    w.core.cron.remove(A, b.id, asTenant);
    const audit = (w.core.handle.sqlite.query("SELECT line FROM audit_events WHERE action LIKE 'cron.%' ORDER BY seq").all() as { line: string }[]).map((r) => JSON.parse(r.line));
    expect(audit.map((r) => [r.action, r.tenant, r.target.id, r.actor.id])).toEqual([
      ["cron.add", "alpha", a.id, "tok:abc"],
      ["cron.add", "alpha", b.id, "tok:abc"],
      ["cron.update", "alpha", a.id, "tok:abc"],
      ["cron.remove", "alpha", b.id, "tok:abc"],
    ]);
    const listed = w.core.cron.list(A, { includeDisabled: true, query: "nightly", limit: 1 });
    expect(listed).toMatchObject({ total: 1, limit: 1, offset: 0 });
    expect(listed.items[0]!.id).toBe(a.id);
    expect(w.core.cron.runs(A, { statuses: ["error"] }).total).toBe(2);
    expect(w.core.cron.runs(A, { statuses: ["ok"] }).total).toBe(0);
    expect(errorOf(() => w!.core.cron.runs(A, { statuses: ["bogus" as never] }))?.message).toBe("statuses: each must be one of running, ok, error, skipped");
    expect(errorOf(() => w!.core.cron.list(A, { limit: 0 }))?.message).toBe("limit: must be a whole number, 1 to 500");
  });
});
