// An agent turn's commits do not wait for the disk on the event loop (state.db's WAL is synced on the
// thread pool), yet nothing is acknowledged before it is on disk: the answer of the OpenAI surface and
// chat.send's run id both wait for the WAL's sync that covers the session's creation and the run's row.
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { agentWorld, type AgentWorld } from "./world.ts";

const HOLD_MS = 400;
let w: AgentWorld;
const realOpen = fs.promises.open;
afterEach(async () => {
  fs.promises.open = realOpen;
  await w?.close();
});

/** Holds every open of state.db's WAL (for its sync) for HOLD_MS; counts them. */
function holdWalSyncs(): { opens: number; released: number } {
  const seen = { opens: 0, released: 0 };
  fs.promises.open = (async (file: fs.PathLike, ...rest: unknown[]) => {
    if (String(file).endsWith("state.db-wal")) {
      seen.opens++;
      await Bun.sleep(HOLD_MS);
      seen.released++;
    }
    return (realOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(file, ...rest);
  }) as typeof fs.promises.open;
  return seen;
}

describe("an agent turn's durability", () => {
  test("OpenAI surface: the WAL is synced off the event loop, and the answer waits for it", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "hello" }]);
    const held = holdWalSyncs();
    const t0 = performance.now();
    const res = await w.post({ model: "openclaw/main", messages: [{ role: "user", content: "hi" }] });
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).choices[0].message.content).toBe("hello");
    expect(held.opens).toBeGreaterThanOrEqual(1);
    // Not answered before the sync covering the session's creation and the run's row was done.
    expect(held.released).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(HOLD_MS - 5);
    // The connection is back at synchronous=FULL for everything else.
    expect((w.core.handle.sqlite.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous).toBe(2);
  });

  test("streamed: the first byte waits for the sync, and no delta published meanwhile is lost", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "streamed answer" }]);
    const held = holdWalSyncs();
    const t0 = performance.now();
    const res = await w.post({ model: "openclaw/main", stream: true, messages: [{ role: "user", content: "hi" }] });
    const headersAt = performance.now() - t0;
    const body = await res.text();
    expect(held.opens).toBeGreaterThanOrEqual(1);
    expect(headersAt).toBeGreaterThanOrEqual(HOLD_MS - 5);
    const text = body
      .split("\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)).choices?.[0]?.delta?.content ?? "")
      .join("");
    expect(text).toBe("streamed answer");
  });

  test("chat.send answers its run id only once the session and the run's row are on disk", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "ok" }]);
    const held = holdWalSyncs();
    const t0 = performance.now();
    const sent = await w.rpc("chat.send", { sessionKey: "durable", message: "hi" });
    const elapsed = performance.now() - t0;
    expect(sent.error).toBeFalsy();
    expect(held.opens).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(HOLD_MS - 5);
    const waited = await w.rpc("chat.wait", { runId: sent.result.runId, timeoutMs: 10_000 });
    expect(waited.result.status).toBe("ok");
  });

  test("a session's creation is audited but does not bump the change tracker (the tenant, token and quota caches stay warm)", async () => {
    w = await agentWorld();
    const generation = () => fs.readFileSync(path.join(w.core.home, "state.gen")).readUInt32LE(0);
    w.fake.script([{ text: "one" }]);
    const before = generation();
    const auditedBefore = w.core.audit.query({ action: "sessions.create" }).length;
    const res = await w.post({ model: "openclaw/main", messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(200);
    expect(w.core.audit.query({ action: "sessions.create" }).length).toBe(auditedBefore + 1);
    expect(generation()).toBe(before);
    // A change the caches do hold still bumps it.
    w.core.tenants.update(scope("acme"), { displayName: "Acme" }, operatorCtx);
    expect(generation()).toBeGreaterThan(before);
  });
});
