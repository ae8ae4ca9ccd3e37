// Runs stay inside their tenant: another tenant's sessions and runs are NOT_FOUND (the same as none),
// a tenant hears only its own events, an abort kills the run's sandbox processes, and a run ends when
// its tenant stops.
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { agentWorld, sleepResults, type AgentWorld } from "./world.ts";

let w: AgentWorld;
afterEach(async () => {
  await w?.close();
});

describe("isolation", () => {
  test("A naming B's session or run gets the same NOT_FOUND as for none; A never hears B's events", async () => {
    w = await agentWorld();
    const b = w.core.tenants.create({ id: "beta" }, operatorCtx).token;
    const heardByA = w.events; // acme's listener
    w.fake.script([{ toolCalls: [{ name: "echo_tool", arguments: { text: "beta secret" } }] }, { text: "beta secret answer" }]);
    const bRun = await w.turn({ sessionKey: "shared", message: "beta secret question" }, b);
    expect(bRun.status).toBe("ok");
    expect(heardByA).toEqual([]);
    for (const [method, params] of [
      ["sessions.get", { sessionKey: "shared" }],
      ["sessions.history", { sessionKey: "shared" }],
      ["sessions.usage", { sessionKey: "shared" }],
      ["sessions.reset", { sessionKey: "shared" }],
      ["sessions.delete", { sessionKey: "shared" }],
      ["chat.wait", { sessionKey: "shared", timeoutMs: 0 }],
      ["chat.abort", { sessionKey: "shared" }],
    ] as const) {
      const onB = await w.rpc(method, params);
      const none = await w.rpc(method, { ...params, sessionKey: "never-was" });
      expect({ method, code: onB.error?.data?.code }).toEqual({ method, code: "NOT_FOUND" });
      expect(onB.error.message).toBe(none.error.message);
    }
    for (const method of ["chat.wait", "chat.abort"]) {
      const onB = await w.rpc(method, { runId: bRun.runId, ...(method === "chat.wait" ? { timeoutMs: 0 } : {}) });
      const none = await w.rpc(method, { runId: `run_${"0".repeat(32)}` });
      expect({ method, code: onB.error?.data?.code, message: onB.error?.message }).toEqual({ method, code: "NOT_FOUND", message: none.error.message });
    }
    // A's own session under the same key is A's alone.
    w.fake.script([{ text: "alpha answer" }]);
    await w.turn({ sessionKey: "shared", message: "mine" });
    const mine = (await w.rpc("sessions.history", { sessionKey: "shared" })).result.entries;
    expect(JSON.stringify(mine)).not.toContain("beta");
    expect((await w.rpc("sessions.list", {})).result.sessions.map((s: any) => s.key)).toEqual(["shared"]);
    expect((await w.rpc("sessions.usage", {})).result.sessions).toBe(1);
    expect((await w.rpc("sessions.history", { sessionKey: "shared" }, b)).result.entries).toHaveLength(5);
  });
});

describe("ending runs", () => {
  test("abort during a long sandbox tool kills the sandbox process and ends the run at once", async () => {
    w = await agentWorld();
    w.fake.script([{ toolCalls: [{ name: "sleep_tool", arguments: {} }] }, { text: "never" }]);
    const sent = (await w.rpc("chat.send", { sessionKey: "long", message: "sleep" })).result;
    const started = Date.now();
    while (!w.events.some((e) => e.method === "chat.tool" && e.params.phase === "call")) {
      if (Date.now() - started > 10_000) throw new Error("the tool never started");
      await Bun.sleep(20);
    }
    await Bun.sleep(300); // the sandbox is running `sleep 30`
    const t0 = performance.now();
    expect((await w.rpc("chat.abort", { runId: sent.runId })).result.aborted).toBe(true);
    const run = (await w.rpc("chat.wait", { runId: sent.runId, timeoutMs: 20_000 })).result;
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(run).toMatchObject({ status: "aborted", errorCode: "ABORTED" });
    expect(sleepResults.at(-1)).toMatchObject({ killedReason: "aborted" });
    expect(sleepResults.at(-1).durationMs).toBeLessThan(10_000);
    expect(w.core.sandbox.info(scope("acme"))).toBeDefined();
    expect(w.fake.pending()).toBe(1);
  }, 30_000);

  test("suspending the tenant ends its run (TenantData.onStop) with an entry naming why", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "slow", delayMs: 10_000 }]);
    const sent = (await w.rpc("chat.send", { sessionKey: "sus", message: "hi" })).result;
    await Bun.sleep(100);
    const t0 = performance.now();
    w.core.tenants.suspend(scope("acme"), operatorCtx);
    const row = w.core.handle.sqlite.query("SELECT status, stop_reason FROM agent_runs WHERE id = ?1").get(sent.runId) as any;
    for (let i = 0; i < 100 && (w.core.handle.sqlite.query("SELECT status FROM agent_runs WHERE id = ?1").get(sent.runId) as any).status === "running"; i++) await Bun.sleep(20);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(w.core.handle.sqlite.query("SELECT status, stop_reason AS stopReason FROM agent_runs WHERE id = ?1").get(sent.runId)).toEqual({ status: "aborted", stopReason: "tenant-suspended" });
    expect(row).toBeDefined();
    const entries = w.core.sessions.history(scope("acme"), "sus").entries;
    expect(entries.at(-1)).toMatchObject({ type: "abort", reason: "tenant-suspended", code: "TENANT_STOPPED" });
  });
});

describe("injection through the model", () => {
  test("file_read of another tenant's path, /etc/shadow or a planted link comes back as refusals; nothing leaks; the run goes on", async () => {
    w = await agentWorld();
    const b = w.core.tenants.create({ id: "beta" }, operatorCtx);
    expect(b).toBeTruthy();
    w.core.files.write(scope("beta"), "notes.txt", Buffer.from("beta secret notes"));
    const fs = await import("node:fs");
    const path = await import("node:path");
    fs.symlinkSync(path.join(w.core.tenants.dir(scope("beta")), "workspace", "notes.txt"), path.join(w.core.tenants.dir(scope("acme")), "workspace", "link.txt"));
    w.core.files.write(scope("acme"), "mine.txt", Buffer.from("acme's own words"));
    w.fake.script([
      {
        toolCalls: [
          { id: "c1", name: "file_read", arguments: { path: "../../beta/workspace/notes.txt" } },
          { id: "c2", name: "file_read", arguments: { path: "/etc/shadow" } },
          { id: "c3", name: "file_read", arguments: { path: "link.txt" } },
          { id: "c4", name: "file_read", arguments: { path: "mine.txt" } },
        ],
      },
      { text: "finished" },
    ]);
    const run = await w.turn({ sessionKey: "inj", message: "read everything" });
    expect(run).toMatchObject({ status: "ok", text: "finished" });
    const results = (await w.rpc("sessions.history", { sessionKey: "inj" })).result.entries.filter((e: any) => e.type === "tool_result");
    expect(results.map((r: any) => [r.toolCallId, r.isError])).toEqual([["c1", true], ["c2", true], ["c3", true], ["c4", false]]);
    expect(results[3].content).toContain("acme's own words");
    const sent = JSON.stringify(w.fake.requests.map((r) => r.body));
    expect(sent).not.toContain("beta secret");
    expect(sent).not.toContain("root:");
  });
});

describe("the tenant's rate of audited changes and chat.send", () => {
  test("only a send that creates its session spends a change: a conversation in an existing session is not limited by it", async () => {
    w = await agentWorld({ config: { gateway: { limits: { tenantChangesPerMinute: 1, tenantChangesBurst: 2 } } } });
    for (let i = 0; i < 5; i++) {
      w.fake.script([{ text: `answer ${i}` }]);
      expect(await w.turn({ sessionKey: "talk", message: `turn ${i}` })).toMatchObject({ status: "ok", text: `answer ${i}` });
    }
    w.fake.script([{ text: "second session" }]);
    expect(await w.turn({ sessionKey: "other", message: "hi" })).toMatchObject({ status: "ok" });
    // Both changes of the burst are spent (two sessions made): a third new session waits.
    const third = await w.rpc("chat.send", { sessionKey: "third", message: "hi" });
    expect(third.error?.data?.code).toBe("RATE_LIMITED");
    expect((await w.rpc("sessions.get", { sessionKey: "third" })).error?.data?.code).toBe("NOT_FOUND");
    // The existing sessions still talk.
    w.fake.script([{ text: "still here" }]);
    expect(await w.turn({ sessionKey: "talk", message: "again" })).toMatchObject({ status: "ok", text: "still here" });
  });
});

describe("what a model asks for cannot break its session (red team 13, F2)", () => {
  for (const model of ["claude-x", "gpt-4o-mini"]) {
    test(`${model}: a bad tool name, a bad id, arguments that are not an object and 200 calls in one step are answered as errors; the run recovers and the next turn works`, async () => {
      w = await agentWorld();
      w.core.overlays.set(scope("acme"), { agents: { main: { model } } }, operatorCtx);
      const many = Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, name: "echo_tool", arguments: { text: `n${i}` } }));
      w.fake.script([
        { toolCalls: [{ id: "x1", name: "bad.name", arguments: {} }, { id: "a b", name: "echo_tool", arguments: { text: "ok" } }, { id: "x3", name: "echo_tool", arguments: "[1]" }] },
        { toolCalls: many },
        { text: "recovered" },
      ]);
      const run = await w.turn({ sessionKey: "inj", message: "go" });
      expect(run).toMatchObject({ status: "ok", text: "recovered" });
      const results = (await w.rpc("sessions.history", { sessionKey: "inj", limit: 500 })).result.entries.filter((e: any) => e.type === "tool_result");
      expect(results[0]).toMatchObject({ isError: true });
      expect(results[0].content).toContain("not valid");
      expect(results[1]).toMatchObject({ isError: false, content: "echo: ok" });
      expect(results[2]).toMatchObject({ isError: true });
      expect(results[2].content).toContain("JSON object");
      expect(results.length).toBe(3 + 32);
      expect(results.at(-1).content).toContain("168 further tool calls");

      w.fake.script([{ text: "second turn" }]);
      expect(await w.turn({ sessionKey: "inj", message: "again" })).toMatchObject({ status: "ok", text: "second turn" });
    });
  }
});

describe("keys a tenant or a provider chooses are only ever own keys and bounded indexes (red team 13, F5, F6)", () => {
  test("an agent id such as constructor is found only when the tenant defines it", async () => {
    w = await agentWorld();
    w.core.overlays.set(scope("acme"), { agents: { helper: {} } }, operatorCtx);
    for (const agentId of ["constructor", "tostring", "hasownproperty", "valueof"]) {
      expect((await w.rpc("agents.get", { agentId })).error?.data?.code).toBe("NOT_FOUND");
      expect((await w.rpc("chat.send", { sessionKey: "p", agentId, message: "hi" })).error?.data?.code).toBe("NOT_FOUND");
    }
    expect((await w.rpc("agents.get", { agentId: "helper" })).result.id).toBe("helper");
  });

  test("a streamed tool call numbered past the cap is the upstream's error, not an array of its size; the call is cancelled", async () => {
    const { answerReader } = await import("../../../src/modules/agents/agent-loop.ts");
    const chunk = (index: number) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index, id: "c", function: { name: "x", arguments: "{}" } }] } }] });
    // The chat service's side of the in-process read: a chunk to the sink, then one empty frame per chunk.
    const body = (reader: ReturnType<typeof answerReader>, chunks: object[], onCancel: () => void) => {
      let i = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            if (i >= chunks.length) return c.close();
            reader.sink.chunk(chunks[i++] as never);
            c.enqueue(new Uint8Array(0));
          },
          cancel: onCancel,
        }),
      );
    };
    const started = performance.now();
    let cancelled = false;
    const bad = answerReader(() => {});
    await expect(bad.read(body(bad, [chunk(4_000_000_000), chunk(0), chunk(1)], () => (cancelled = true)), new AbortController().signal)).rejects.toThrow("at most");
    expect(performance.now() - started).toBeLessThan(1000);
    // The refusal stops the read and cancels the call (the governed call settles it as a client that left).
    expect(cancelled).toBe(true);
    const good = answerReader(() => {});
    const ok = await good.read(body(good, [chunk(1), chunk(0)], () => {}), new AbortController().signal);
    expect(ok.calls).toHaveLength(2);
  });
});
