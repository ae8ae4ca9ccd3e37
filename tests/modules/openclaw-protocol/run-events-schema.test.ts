// Our `chat` and `agent` events checked against upstream's OWN schemas (TypeBox, from the pinned
// `openclaw` package the client tests install): ChatEventSchema (status, delta, final, error,
// aborted) and AgentEventSchema. Upstream's gateway adds the session routing fields (sessionKey,
// sessionId, agentId) to agent events when it broadcasts them (captured frames carry them; the
// runtime's schema does not list them), so those are checked apart.
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { isTerminal, until, v4World, type V4World } from "./v4-runtime.ts";

const ROOT = path.join(import.meta.dir, "..", "..", "..");
const UPSTREAM = path.join(ROOT, ".cache", "openclaw-upstream", "node_modules");
const DIST = path.join(UPSTREAM, "openclaw", "dist");
/** Where the pinned 2026.9.6 build keeps them, and the names its bundler exported them under. */
const FILES = { chat: ["sessions-KsldKmtI.mjs", "bt"], agent: ["src-BRUl7oDv.mjs", "nd"] } as const;

let w: V4World;
afterEach(async () => {
  await w?.close();
});

test("chat and agent events of a turn, a failed turn and an aborted one fit upstream's schemas", async () => {
  for (const [file] of Object.values(FILES)) {
    if (!fs.existsSync(path.join(DIST, file))) throw new Error(`upstream OpenClaw 2026.9.6 is not installed under ${UPSTREAM} (${file} missing): run scripts/test.sh`);
  }
  const chatSchema = (await import(path.join(DIST, FILES.chat[0])))[FILES.chat[1]];
  const agentSchema = (await import(path.join(DIST, FILES.agent[0])))[FILES.agent[1]];
  const { Value } = await import(path.join(UPSTREAM, "typebox", "build", "value", "index.mjs"));
  const errors = (schema: unknown, v: unknown) => (Value.Check(schema, v) ? [] : [...Value.Errors(schema, v)].slice(0, 3).map((e: any) => `${e.instancePath}: ${e.message}`));

  w = await v4World();
  w.fake.script([{ text: "calling", toolCalls: [{ id: "call_1", name: "echo_tool", arguments: { text: "x" } }] }, { text: "done after the tool" }]);
  const ok = await w.a.call("chat.send", { sessionKey: "agent:main:main", message: "use a tool", idempotencyKey: "k1" });
  await until(w.a, isTerminal(ok.runId));
  const failed = await w.a.call("chat.send", { sessionKey: "agent:main:main", message: "x [[error:500]]", idempotencyKey: "k2" });
  await until(w.a, isTerminal(failed.runId));
  const aborted = await w.a.call("chat.send", { sessionKey: "agent:main:main", message: "long [[words:40]] [[slow:50]]", idempotencyKey: "k3" });
  await until(w.a, (f) => f.some((x) => x.payload.runId === aborted.runId && x.payload.state === "delta"));
  await w.a.call("chat.abort", { sessionKey: "agent:main:main" });
  await until(w.a, isTerminal(aborted.runId));

  const chats = w.a.frames.filter((f) => f.event === "chat").map((f) => f.payload);
  expect(new Set(chats.map((c) => c.state))).toEqual(new Set(["status", "delta", "final", "error", "aborted"]));
  for (const c of chats) expect({ state: c.state, errors: errors(chatSchema, c) }).toEqual({ state: c.state, errors: [] });
  const agents = w.a.frames.filter((f) => f.event === "agent").map((f) => f.payload);
  expect(new Set(agents.map((a) => a.stream))).toEqual(new Set(["lifecycle", "assistant", "tool", "usage"]));
  for (const a of agents) {
    const { sessionKey, sessionId, agentId, ...event } = a;
    expect({ sessionKey, agentId }).toEqual({ sessionKey: "agent:main:main", agentId: "main" });
    expect(typeof sessionId).toBe("string");
    expect({ stream: a.stream, errors: errors(agentSchema, event) }).toEqual({ stream: a.stream, errors: [] });
  }
});
