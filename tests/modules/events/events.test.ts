// The tenant event bus: a listener hears its own tenant's current incarnation only — never another
// tenant, never a tenant created later under the same id — and stops hearing a stopped tenant.
import { describe, expect, test } from "bun:test";
import type { TenantEvent } from "../../../src/modules/events/events.service.ts";
import { createTenant, operatorCtx, scope, testCore } from "../../helpers/core.ts";

const ev = (n: number): TenantEvent => ({ method: "test.event", params: { n } });

describe("events", () => {
  test("each tenant hears only its own events, in order", () => {
    const core = testCore();
    createTenant(core, "alpha");
    createTenant(core, "beta");
    const heard: Record<string, number[]> = { alpha: [], beta: [] };
    const off = core.events.subscribe(scope("alpha"), (e) => heard.alpha!.push(e.params.n as number));
    core.events.subscribe(scope("beta"), (e) => heard.beta!.push(e.params.n as number));
    core.events.publish(scope("alpha"), ev(1));
    core.events.publish(scope("beta"), ev(2));
    core.events.publish(scope("alpha"), ev(3));
    off();
    core.events.publish(scope("alpha"), ev(4));
    expect(heard).toEqual({ alpha: [1, 3], beta: [2] });
    core.close();
  });

  test("a tenant deleted and created again under the same id is a new audience", () => {
    const core = testCore();
    createTenant(core, "alpha");
    const old: number[] = [];
    core.events.subscribe(scope("alpha"), (e) => old.push(e.params.n as number));
    core.events.publish(scope("alpha"), ev(1));
    core.tenants.remove(scope("alpha"), operatorCtx);
    core.events.publish(scope("alpha"), ev(2));
    createTenant(core, "alpha");
    const fresh: number[] = [];
    core.events.subscribe(scope("alpha"), (e) => fresh.push(e.params.n as number));
    core.events.publish(scope("alpha"), ev(3));
    expect({ old, fresh }).toEqual({ old: [1], fresh: [3] });
    core.close();
  });

  test("suspend drops the incarnation's listeners; a failing listener is dropped, others still hear", () => {
    const core = testCore();
    createTenant(core, "alpha");
    const heard: number[] = [];
    core.events.subscribe(scope("alpha"), () => {
      throw new Error("boom");
    });
    core.events.subscribe(scope("alpha"), (e) => heard.push(e.params.n as number));
    core.events.publish(scope("alpha"), ev(1));
    core.events.publish(scope("alpha"), ev(2));
    const inc = core.tenants.incarnation("alpha")!;
    expect(core.events.listeners("alpha", inc)).toBe(1);
    core.tenants.suspend(scope("alpha"), operatorCtx);
    expect(core.events.listeners("alpha", inc)).toBe(0);
    expect(heard).toEqual([1, 2]);
    core.close();
  });
});
