// Sandbox slots are shared fairly: one tenant, even with its per-tenant limit raised to every slot,
// cannot hold them all — a tenant with no run in progress always finds one — checked with real
// concurrent bwrap runs of two tenants, and the rule itself over every size.
import { describe, expect, test } from "bun:test";
import { createRunSlots, reservedSlots } from "../../../src/modules/sandbox/run-slots.ts";
import { createTenant, scope } from "../../helpers/core.ts";
import { MODES, sandboxWorld } from "../../helpers/sandbox.ts";

describe("fair share of sandbox slots", () => {
  test("one tenant with every slot allowed cannot block another: the other's run starts while the first is at its share", async () => {
    const w = sandboxWorld(MODES[0]!, { sandbox: { maxConcurrent: 4, maxConcurrentPerTenant: 4 } });
    // Start alpha's runs one after another (each holds its slot for a couple of seconds).
    const alphaRuns: Promise<unknown>[] = [];
    const refusals: string[] = [];
    for (let i = 0; i < 4; i++) {
      alphaRuns.push(w.core.sandbox.run({ tenant: scope("alpha"), command: ["sleep", "2"], origin: "rpc" }).catch((err: Error) => refusals.push(err.message)));
      await Bun.sleep(20);
    }
    await Bun.sleep(100);
    const beta = await w.core.sandbox.run({ tenant: scope("beta"), command: ["true"], origin: "rpc" });
    expect(beta.exitCode).toBe(0);
    // Alpha got 3 of the 4 slots; its 4th run was refused, keeping the last slot for someone else.
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain("kept for tenants with none");
    await Promise.all(alphaRuns);
    w.core.close();
  }, 60_000);

  test("with several tenants, every tenant without a run can start one while a hog holds its share", async () => {
    const w = sandboxWorld(MODES[0]!, { sandbox: { maxConcurrent: 8, maxConcurrentPerTenant: 8 } });
    createTenant(w.core, "gamma");
    const hog: Promise<unknown>[] = [];
    let refused = 0;
    for (let i = 0; i < 8; i++) {
      hog.push(w.core.sandbox.run({ tenant: scope("alpha"), command: ["sleep", "2"], origin: "rpc" }).catch(() => refused++));
      await Bun.sleep(20);
    }
    await Bun.sleep(100);
    const [b, g] = await Promise.all([
      w.core.sandbox.run({ tenant: scope("beta"), command: ["true"], origin: "rpc" }),
      w.core.sandbox.run({ tenant: scope("gamma"), command: ["true"], origin: "rpc" }),
    ]);
    expect([b.exitCode, g.exitCode]).toEqual([0, 0]);
    expect(refused).toBe(reservedSlots(8)); // 6 ran, 2 refused: the last 2 free slots are kept
    await Promise.all(hog);
    w.core.close();
  }, 60_000);

  test("the rule: whatever one tenant takes, a slot is free for a tenant with none", () => {
    for (let max = 1; max <= 40; max++) {
      for (const perTenant of [1, 2, max, max + 5]) {
        const slots = createRunSlots();
        let hogs = 0;
        for (let i = 0; i < max + 5; i++) {
          try {
            slots.acquire("hog", { maxConcurrent: max, maxConcurrentPerTenant: perTenant });
            hogs++;
          } catch {
            // refused: its share is full
          }
        }
        expect(hogs).toBeLessThanOrEqual(Math.min(perTenant, max === 1 ? 1 : max - reservedSlots(max)));
        // Another tenant with no run gets a slot, unless one slot is all there is and the hog has it.
        if (max > 1) expect(() => slots.acquire("other", { maxConcurrent: max, maxConcurrentPerTenant: perTenant })).not.toThrow();
        expect(slots.inProgress()).toBe(hogs + (max > 1 ? 1 : 0));
      }
    }
  });
});
