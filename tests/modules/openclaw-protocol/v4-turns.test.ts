// The run and session methods over the real v4 transport (GET / upgrade, connect, frames), driven as
// upstream's CLI and TUI drive them, against a gateway routing to the fake provider; two tenants.
import { afterEach, describe, expect, test } from "bun:test";
import { createTenant } from "../../helpers/core.ts";
import { agentWorld, type AgentWorld } from "../agents/world.ts";
import { cliParams, V4Client, type WsWorld } from "./v4-client.ts";

let w: AgentWorld;
const open: V4Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await w?.close();
});

async function conn(token: string, scopes: string[], client: Record<string, unknown> = {}) {
  const c = await V4Client.open(w as unknown as WsWorld);
  open.push(c);
  await c.challenge();
  const params = cliParams(token, { scopes });
  const hello = await c.connect({ ...params, client: { ...(params.client as object), ...client } });
  return { c, hello };
}

describe("protocol v4: runs and sessions over the wire", () => {
  test("openclaw agent's sequence: agents.list on a read connection, then agent on a write one — two answers on one id, events in between", async () => {
    w = await agentWorld();
    const tokenB = createTenant(w.core, "beta");
    const { c: r, hello } = await conn(w.token, ["operator.read"]);
    for (const m of ["agent", "agent.wait", "chat.startup", "chat.send", "chat.history", "chat.abort", "sessions.list", "sessions.get", "sessions.subscribe", "sessions.unsubscribe", "sessions.reset", "sessions.delete"]) expect(hello.features.methods).toContain(m);
    expect((await r.request("agents.list", {})).ok).toBe(true);
    r.close();

    const { c: other } = await conn(tokenB, ["operator.read", "operator.write"]);
    await other.request("sessions.subscribe", {});
    const { c } = await conn(w.token, ["operator.write"]);
    const id = "2:bcfb0000-0000-4000-8000-000000000000";
    c.raw.send({ type: "req", id, method: "agent", params: { message: "hi from cli [[words:5]]", agentId: "main", deliver: false, timeout: 600, idempotencyKey: "b8bbdc7a-0bb9-475f-99f5-66d2d2781748" } });
    const second = await c.raw.next((m: any) => m.type === "res" && m.id === id && m.payload?.status !== "accepted", "the second answer", 15_000);
    const answers = c.messages.filter((m) => m.type === "res" && m.id === id);
    expect(answers.map((a) => a.payload.status)).toEqual(["accepted", "ok"]);
    expect(answers[0].payload).toMatchObject({ sessionKey: "agent:main:main", agentId: "main", runId: "b8bbdc7a-0bb9-475f-99f5-66d2d2781748" });
    const answer = second.payload.result.payloads[0].text; // (read before toMatchObject, which writes its matchers into what it matched)
    expect(typeof answer).toBe("string");
    expect(second.payload).toMatchObject({ status: "ok", summary: "completed", result: { payloads: [{ mediaUrl: null }] } });
    // The run's events came between the two answers, each frame with the connection's seq.
    const first = c.messages.indexOf(answers[0]);
    const last = c.messages.indexOf(second);
    const between = c.messages.slice(first + 1, last).filter((m) => m.type === "event" && m.event !== "tick");
    expect(between.map((m) => m.event)).toEqual(expect.arrayContaining(["agent", "chat"]));
    expect(between.find((m) => m.event === "chat" && m.payload.state === "final").payload.message.content[0].text).toBe(answer);
    const seqs = c.events().filter((m) => m.event !== "connect.challenge").map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));

    // The session is the tenant's, in our RPC too; the other tenant heard nothing and has nothing.
    expect((await w.rpc("sessions.list", {})).result.sessions.map((s: any) => s.key)).toEqual(["agent:main:main"]);
    expect((await w.rpc("sessions.list", {}, tokenB)).result.sessions).toEqual([]);
    expect(other.events().filter((m) => m.event !== "tick" && m.event !== "connect.challenge")).toEqual([]);
    expect((await other.request("sessions.list", {})).payload.sessions).toEqual([]);
  });

  test("the TUI's sequence: sessions.subscribe, chat.history, chat.send streams chat deltas to a final; a read-only connection may not send", async () => {
    w = await agentWorld();
    const { c } = await conn(w.token, ["operator.admin", "operator.read", "operator.write", "operator.approvals"], { id: "openclaw-tui", mode: "ui" });
    expect((await c.request("sessions.subscribe", {})).payload).toEqual({ subscribed: true });
    expect((await c.request("chat.history", { sessionKey: "agent:main:main", limit: 200 })).payload).toMatchObject({ messages: [] });
    const ack = await c.request("chat.send", { sessionKey: "agent:main:main", message: "hello from tui [[words:8]]", deliver: false, idempotencyKey: "c2fc482a-0000-4000-8000-000000000000" });
    expect(ack.payload).toEqual({ runId: "c2fc482a-0000-4000-8000-000000000000", status: "started" });
    const final = await c.raw.next((m: any) => m.type === "event" && m.event === "chat" && m.payload.state === "final", "chat final", 15_000);
    expect(final.payload).toMatchObject({ runId: ack.payload.runId, sessionKey: "agent:main:main", agentId: "main" });
    // Nothing of the run reached the client before its ack.
    const ackAt = c.messages.indexOf(ack);
    expect(c.messages.slice(0, ackAt).some((m) => m.type === "event" && m.payload?.runId === ack.payload.runId)).toBe(false);
    const deltas = c.events("chat").filter((m) => m.payload.state === "delta");
    expect(deltas.at(-1).payload.message.content[0].text).toBe(final.payload.message.content[0].text);
    expect(c.events("sessions.changed").length).toBeGreaterThan(0);
    const h = (await c.request("chat.history", { sessionKey: "agent:main:main" })).payload;
    expect(h.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);

    const { c: ro } = await conn(w.token, ["operator.read"]);
    const refused = await ro.request("chat.send", { sessionKey: "agent:main:main", message: "x", idempotencyKey: "k" });
    expect(refused.error).toMatchObject({ code: "FORBIDDEN", details: { code: "MISSING_SCOPE" } });
    const bad = await c.request("chat.send", { sessionKey: "agent:main:main", message: "x" });
    expect(bad.error).toMatchObject({ code: "INVALID_REQUEST", message: "invalid chat.send params: idempotencyKey is required" });
  });
});
