// The protocol-v4 run methods (agent, agent.wait, chat.send, chat.abort) and the event translation, on
// the real agent runtime with the fake provider, called as the dispatcher calls them.
import { afterEach, describe, expect, test } from "bun:test";
import { V4Error } from "../../../src/modules/openclaw-protocol/methods.ts";
import { isTerminal, until, v4World, type V4World } from "./v4-runtime.ts";

let w: V4World;
afterEach(async () => {
  await w?.close();
});

describe("agent (openclaw agent --message)", () => {
  test("two-stage answer: accepted, then the result; the session is agent:main:main in the RPC sessions.list of that tenant only", async () => {
    w = await v4World();
    const r = await w.a.call("agent", { message: "hi from cli [[words:5]]", agentId: "main", deliver: false, timeout: 600, idempotencyKey: "b8bbdc7a-0bb9-475f-99f5-66d2d2781748" });
    expect(r.twoStage).toBe(true);
    // The run is named by the client's idempotency key, as upstream names it.
    expect(r.accepted).toEqual({ runId: "b8bbdc7a-0bb9-475f-99f5-66d2d2781748", sessionKey: "agent:main:main", agentId: "main", status: "accepted", acceptedAt: expect.any(Number) });
    const final = await r.final;
    expect(final).toMatchObject({ runId: r.accepted.runId, status: "ok", summary: "completed", result: { payloads: [{ text: expect.stringMatching(/\S+( \S+){4}/), mediaUrl: null }], meta: { durationMs: expect.any(Number), agentMeta: { agentId: "main" } } } });

    const mine = (await w.rpc("sessions.list", {})).result.sessions.map((s: any) => s.key);
    expect(mine).toEqual(["agent:main:main"]);
    const theirs = (await w.rpc("sessions.list", {}, w.tokenB)).result.sessions;
    expect(theirs).toEqual([]);
  });

  test("a failing turn is a second answer with status error and the reason as summary", async () => {
    w = await v4World();
    const r = await w.a.call("agent", { message: "x [[error:500]]", idempotencyKey: "k-err" });
    const final = await r.final;
    expect(final).toMatchObject({ runId: r.accepted.runId, status: "error", result: { payloads: [] } });
    expect(final.summary.length).toBeGreaterThan(0);
  });

  test("agent.wait: the run's end; another tenant's run id is the same not-found as an unknown one", async () => {
    w = await v4World();
    const r = await w.a.call("agent", { message: "hello", idempotencyKey: "k1" });
    const waited = await w.a.call("agent.wait", { runId: r.accepted.runId, timeoutMs: 10_000 });
    expect(waited).toMatchObject({ runId: r.accepted.runId, status: "ok", stopReason: "stop" });
    const theirs = await w.b.call("agent.wait", { runId: r.accepted.runId, timeoutMs: 0 }).catch((e) => e);
    const unknown = await w.b.call("agent.wait", { runId: `run_${"0".repeat(32)}`, timeoutMs: 0 }).catch((e) => e);
    expect(theirs.code).toBe("NOT_FOUND");
    expect(theirs.message).toBe(unknown.message);
    // Our own run id works too (a run started over RPC has no other name); theirs is still not found.
    const ours = w.core.runs.runOfKey(w.a.ctx.tenant, "k1")!;
    expect(await w.a.call("agent.wait", { runId: ours, timeoutMs: 0 })).toMatchObject({ runId: ours, status: "ok" });
    expect((await w.b.call("agent.wait", { runId: ours, timeoutMs: 0 }).catch((e) => e)).message).toBe(unknown.message);
  });
});

describe("agent.identity.get", () => {
  test("the caller's agent's display identity; an agent the caller does not have is not found", async () => {
    w = await v4World();
    expect(await w.a.call("agent.identity.get", { sessionKey: "agent:main:main" })).toMatchObject({ agentId: "main", name: "Assistant" });
    expect(await w.a.call("agent.identity.get", {})).toMatchObject({ agentId: "main" });
    const e = await w.a.call("agent.identity.get", { agentId: "nobody" }).catch((x) => x);
    expect(e.code).toBe("NOT_FOUND");
  });
});

describe("chat.send and the chat / agent events", () => {
  test("ack {runId, status:'started'} before any of the run's frames; deltas carry the increment and the cumulative text; final has the answer", async () => {
    w = await v4World();
    const ack = await w.a.call("chat.send", { sessionKey: "agent:main:main", sessionId: "whatever", message: "hello from tui [[words:12]] [[slow:15]]", deliver: false, idempotencyKey: "c2fc482a" });
    expect(ack).toEqual({ runId: "c2fc482a", status: "started" });
    await until(w.a, isTerminal(ack.runId));
    const run = w.a.frames.filter((f) => f.payload.runId === ack.runId);
    // Nothing of the run went out before the ack (the client learns the run id first).
    for (const f of run) expect(f.answered).toBe(1);
    const kinds = run.map((f) => (f.event === "chat" ? `chat:${f.payload.state}` : `agent:${f.payload.stream}${f.payload.data.phase ? `:${f.payload.data.phase}` : ""}`));
    expect(kinds[0]).toBe("agent:lifecycle:start");
    expect(kinds.slice(-3)).toEqual(["agent:usage", "agent:lifecycle:end", "chat:final"]);
    const deltas = run.filter((f) => f.event === "chat" && f.payload.state === "delta").map((f) => f.payload);
    expect(deltas.length).toBeGreaterThan(0);
    let text = "";
    for (const d of deltas) {
      text += d.deltaText;
      expect(d).toMatchObject({ runId: ack.runId, sessionKey: "agent:main:main", agentId: "main", message: { role: "assistant", content: [{ type: "text", text }] } });
    }
    const final = run.at(-1)!.payload;
    expect(final).toMatchObject({ state: "final", stopReason: "stop", message: { role: "assistant", content: [{ type: "text", text }] } });
    expect(text.split(" ")).toHaveLength(12);
    // The per-run seq counts up over the run's chat and agent frames.
    expect(run.map((f) => f.payload.seq)).toEqual(run.map((_, i) => i + 1));
    // Deltas are coalesced (12 words, 15 ms apart, in fewer frames than words).
    expect(deltas.length).toBeLessThan(12);
  });

  test("a retried idempotency key is the same run; a busy session refuses a second turn", async () => {
    w = await v4World();
    const first = await w.a.call("chat.send", { sessionKey: "agent:main:s1", message: "slow [[words:3]] [[slow:200]]", idempotencyKey: "same" });
    const again = await w.a.call("chat.send", { sessionKey: "agent:main:s1", message: "slow [[words:3]] [[slow:200]]", idempotencyKey: "same" });
    expect(again.runId).toBe(first.runId);
    const busy = await w.a.call("chat.send", { sessionKey: "agent:main:s1", message: "other", idempotencyKey: "other" }).catch((e) => e);
    expect(busy.code).toBe("CONFLICT");
    await until(w.a, isTerminal(first.runId));
    expect((await w.a.call("chat.send", { sessionKey: "agent:main:s1", message: "slow", idempotencyKey: "same" })).status).toBe("ok");
  });

  test("chat.abort ends the session's run: an aborted chat frame; another tenant cannot abort it", async () => {
    w = await v4World();
    const ack = await w.a.call("chat.send", { sessionKey: "agent:main:main", message: "long [[words:50]] [[slow:100]]", idempotencyKey: "k" });
    await until(w.a, (f) => f.some((x) => x.payload.runId === ack.runId && x.payload.state === "delta"));
    expect(await w.b.call("chat.abort", { sessionKey: "agent:main:main", runId: ack.runId })).toEqual({ ok: true, aborted: false, runIds: [] });
    expect(await w.a.call("chat.abort", { sessionKey: "agent:main:main", runId: ack.runId })).toEqual({ ok: true, aborted: true, runIds: [ack.runId] });
    await until(w.a, isTerminal(ack.runId));
    expect(w.a.frames.at(-1)!.payload).toMatchObject({ state: "aborted", stopReason: "aborted", runId: ack.runId });
  });

  test("the other tenant's connection hears none of the run", async () => {
    w = await v4World();
    await w.b.call("sessions.subscribe", {});
    const r = await w.a.call("agent", { message: "secret words", idempotencyKey: "k" });
    await r.final;
    await Bun.sleep(150);
    expect(w.b.frames).toEqual([]);
    expect(w.a.frames.length).toBeGreaterThan(0);
  });

  test("an agent-prefixed key runs its agent; a conflicting agentId, a bad key, attachments, a missing key are INVALID_REQUEST naming the field", async () => {
    w = await v4World();
    const bad = async (params: Record<string, unknown>) => {
      const e = await w.a.call("chat.send", { message: "m", idempotencyKey: "k", ...params }).catch((x) => x);
      expect(e).toBeInstanceOf(V4Error);
      expect(e.code).toBe("INVALID_REQUEST");
      return e.message as string;
    };
    expect(await bad({ sessionKey: "agent:main:x", agentId: "ops" })).toContain("agentId");
    expect(await bad({ sessionKey: "bad key!" })).toContain("sessionKey");
    expect(await bad({ sessionKey: "s", attachments: [{ type: "image" }] })).toContain("attachments");
    expect(await bad({})).toContain("sessionKey");
    expect(await bad({ sessionKey: "s", message: 5 })).toContain("message");
    expect(await bad({ sessionKey: "s", idempotencyKey: "" })).toContain("idempotencyKey");
    expect(w.core.sessions.list(w.a.ctx.tenant).sessions).toEqual([]);
  });

  test("a failure translating one event costs that event only: the connection keeps hearing the run", async () => {
    w = await v4World();
    const { connect } = await import("./v4-runtime.ts");
    let throws = 1;
    const flaky = { ...w.svc, sessions: { ...w.svc.sessions, entries: (...a: Parameters<typeof w.svc.sessions.entries>) => (throws-- > 0 ? (() => { throw new Error("unreadable"); })() : w.svc.sessions.entries(...a)) } };
    const watcher = connect(flaky as typeof w.svc, w.a.ctx.tenant);
    await watcher.call("sessions.list", {});
    const ack = await w.a.call("chat.send", { sessionKey: "agent:main:main", message: "hello [[words:6]] [[slow:10]]", idempotencyKey: "k" });
    await until(w.a, isTerminal(ack.runId));
    await until(watcher, (f) => f.some((x) => x.event === "chat" && x.payload.state === "final"));
    expect(throws).toBeLessThan(1);
    watcher.close();
  });

  test("closing the connection stops listening to the tenant's bus", async () => {
    w = await v4World();
    await w.a.call("sessions.subscribe", {});
    const inc = w.core.tenants.incarnation("acme")!;
    const before = w.core.events.listeners("acme", inc);
    w.a.close();
    expect(w.core.events.listeners("acme", inc)).toBe(before - 1);
  });
});
