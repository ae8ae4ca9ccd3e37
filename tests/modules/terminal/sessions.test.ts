// A terminal belongs to one tenant incarnation and is told to one connection: outputs never mix,
// another tenant's attach/input/resize/close get the identical NOT_FOUND, a reconnect gets the replay,
// a detached terminal expires, idle ones close, caps hold, and POST /rpc is refused. Clock and timers
// are the test's (ManualClock, ManualTimers): nothing here sleeps through a timeout.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/core/clock.ts";
import { ManualTimers } from "../../../src/core/timers.ts";
import { testApp } from "../../helpers/core.ts";
import { MODES } from "../../helpers/sandbox.ts";
import { outputOf, termWorld, typeInto, waitOutput, waitPrompt } from "./harness.ts";

const clock = new ManualClock(Date.now());
const timers = new ManualTimers(clock);
const w = termWorld(MODES[0]!, { clock, timers, terminal: { maxPerTenant: 2, maxTotal: 3, idleTimeoutSeconds: 60, reconnectSeconds: 30 } });
const { rpc } = testApp(w.core);
afterAll(() => w.close());
// A failed test leaves no terminal behind to count against the next one's caps.
afterEach(() => w.core.terminal.stopAll());

async function open(c: any): Promise<string> {
  const r = await c.call("terminal.open", { cols: 80, rows: 24 });
  expect(r.error).toBeUndefined();
  await waitPrompt(c, r.result.terminalId);
  return r.result.terminalId;
}

/** Alpha's terminals as the service lists them (its current incarnation). */
const listed = () => w.core.terminal.list({ tenantId: "alpha", incarnation: w.core.tenants.incarnation("alpha") } as any);

async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("terminal sessions", () => {
  test("two terminals' outputs never mix; a connection hears only the terminal attached to it", async () => {
    const c1 = await w.client(w.a);
    const c2 = await w.client(w.a);
    const t1 = await open(c1);
    const t2 = await open(c2);
    typeInto(c1, t1, "for i in 1 2 3 4 5; do echo one-$i; done\r");
    typeInto(c2, t2, "for i in 1 2 3 4 5; do echo two-$i; done\r");
    await waitOutput(c1, t1, /one-5\r\n/);
    await waitOutput(c2, t2, /two-5\r\n/);
    expect(outputOf(c1, t1)).not.toContain("two-");
    expect(outputOf(c2, t2)).not.toContain("one-");
    // Each connection was told of its own terminal only.
    expect(c1.notifications("terminal.output").every((n) => n.params.terminalId === t1)).toBe(true);
    expect(c2.notifications("terminal.output").every((n) => n.params.terminalId === t2)).toBe(true);
    const seqs = c1.notifications("terminal.output").map((n) => n.params.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await c1.call("terminal.close", { terminalId: t1 });
    await c2.call("terminal.close", { terminalId: t2 });
  }, 60_000);

  test("another tenant cannot attach, type into, resize or close a terminal: the same NOT_FOUND as none", async () => {
    const ca = await w.client(w.a);
    const cb = await w.client(w.b);
    const t = await open(ca);
    for (const [method, extra] of [
      ["terminal.attach", {}],
      ["terminal.input", { data: "echo pwned > /work/pwned\r" }],
      ["terminal.resize", { cols: 10, rows: 10 }],
      ["terminal.close", {}],
    ] as const) {
      const theirs = await cb.call(method, { terminalId: t, ...extra });
      const none = await cb.call(method, { terminalId: "term_doesnotexist0000000", ...extra });
      expect({ method, error: theirs.error }).toEqual({ method, error: { ...none.error, data: { ...none.error.data, requestId: theirs.error.data.requestId } } });
      expect(theirs.error.data.code).toBe("NOT_FOUND");
      // Naming the other tenant explicitly is refused the same way.
      expect((await cb.call(method, { tenantId: "alpha", terminalId: t, ...extra })).error.data.code).toBe("NOT_FOUND");
    }
    expect((await cb.call("terminal.list", {})).result.terminals).toEqual([]);
    expect(cb.notifications("terminal.output")).toEqual([]);
    // A's terminal is untouched: still 80x24, still answering, and B's input never reached it.
    typeInto(ca, t, "stty size; ls /work\r");
    await waitOutput(ca, t, /24 80\r\n/);
    expect(outputOf(ca, t)).not.toContain("pwned\r\n");
    expect((await ca.call("terminal.list", {})).result.terminals).toEqual([{ terminalId: t, createdAt: expect.any(String), attached: true, attachedHere: true, cols: 80, rows: 24 }]);
    await ca.call("terminal.close", { terminalId: t });
  }, 60_000);

  test("a reconnect within the window gets the replay and what follows; the old connection hears nothing more", async () => {
    const c1 = await w.client(w.a);
    const t = await open(c1);
    typeInto(c1, t, "echo before-$((6*7))\r");
    await waitOutput(c1, t, /before-42\r\n/);
    c1.close();
    await until(() => listed().some((x) => x.terminalId === t && !x.attached), "the detach");
    clock.advance(20_000);
    timers.fireDue();
    const c2 = await w.client(w.a);
    const r = await c2.call("terminal.attach", { terminalId: t });
    expect(r.result.terminalId).toBe(t);
    expect(r.result.replay).toContain("before-42\r\n");
    typeInto(c2, t, "echo after-$((6*8))\r");
    await waitOutput(c2, t, /after-48\r\n/);
    // Another connection of the same tenant takes it over: c2 is told nothing more.
    const c3 = await w.client(w.a);
    expect((await c3.call("terminal.attach", { terminalId: t })).result.replay).toContain("after-48");
    const told = c2.notifications("terminal.output").length;
    typeInto(c3, t, "echo third\r");
    await waitOutput(c3, t, /third\r\n/);
    expect(c2.notifications("terminal.output").length).toBe(told);
    await c3.call("terminal.close", { terminalId: t });
  }, 60_000);

  test("a detached terminal expires after reconnectSeconds: closed (audited 'detached'), then attach is NOT_FOUND", async () => {
    const c1 = await w.client(w.a);
    const t = await open(c1);
    c1.close();
    await until(() => listed().some((x) => x.terminalId === t && !x.attached), "the detach");
    clock.advance(29_000);
    timers.fireDue();
    expect(w.core.terminal.count("alpha")).toBe(1);
    clock.advance(2_000);
    timers.fireDue();
    await until(() => w.core.terminal.count("alpha") === 0, "the close");
    const c2 = await w.client(w.a);
    const r = await c2.call("terminal.attach", { terminalId: t });
    expect(r.error.data.code).toBe("NOT_FOUND");
    expect(w.core.audit.query({ action: "terminal.close" }).filter((x: any) => x.target?.id === t)[0]).toMatchObject({ actor: { kind: "system" }, details: { reason: "detached" } });
  }, 60_000);

  test("an idle terminal is closed after idleTimeoutSeconds; input keeps it open", async () => {
    const c = await w.client(w.a);
    const t = await open(c);
    clock.advance(40_000);
    timers.fireDue();
    typeInto(c, t, "echo busy\r");
    await waitOutput(c, t, /busy\r\n/);
    clock.advance(40_000); // 80 s after the open, 40 s after the input
    timers.fireDue();
    expect(w.core.terminal.count("alpha")).toBe(1);
    clock.advance(21_000);
    timers.fireDue();
    const exit = await c.next((m) => m.method === "terminal.exit", "terminal.exit", 10_000);
    expect(exit.params).toMatchObject({ terminalId: t, reason: "idle" });
    expect(w.core.audit.query({ action: "terminal.close" }).filter((x: any) => x.target?.id === t)[0]).toMatchObject({ details: { reason: "idle" } });
  }, 60_000);

  test("caps: per tenant (QUOTA_EXCEEDED) and in all (RATE_LIMITED), with the limit named", async () => {
    const ca = await w.client(w.a);
    const cb = await w.client(w.b);
    const a1 = await open(ca);
    const a2 = await open(ca);
    const third = await ca.call("terminal.open", { cols: 80, rows: 24 });
    expect(third.error.data.code).toBe("QUOTA_EXCEEDED");
    expect(third.error.message).toContain("gateway.terminal.maxPerTenant = 2");
    const b1 = await open(cb);
    const fourth = await cb.call("terminal.open", { cols: 80, rows: 24 });
    expect(fourth.error.data.code).toBe("RATE_LIMITED");
    expect(fourth.error.message).toContain("gateway.terminal.maxTotal = 3");
    await ca.call("terminal.close", { terminalId: a1 });
    await open(cb);
    for (const [c, t] of [[ca, a2], [cb, b1]] as const) await c.call("terminal.close", { terminalId: t });
    await w.core.terminal.stopAll();
  }, 60_000);

  test("bad input is refused with the reason; POST /rpc is told a terminal needs the WebSocket", async () => {
    const c = await w.client(w.a);
    expect((await c.call("terminal.open", { cols: 0, rows: 24 })).error.data.code).toBe("INVALID_PARAMS");
    expect((await c.call("terminal.open", { cols: 80, rows: 100000 })).error.data.code).toBe("INVALID_PARAMS");
    expect((await c.call("terminal.input", { terminalId: "term_x", data: "x".repeat(64 * 1024 + 1) })).error.data.code).toBe("INVALID_PARAMS");
    const post = await rpc(w.a, "terminal.open", { cols: 80, rows: 24 });
    expect(post.error.data.code).toBe("BAD_REQUEST");
    expect(post.error.message).toContain("needs a WebSocket connection");
    expect(w.core.terminal.count()).toBe(0);
  });
});
