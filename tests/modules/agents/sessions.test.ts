// Sessions: caps with clear errors, reset and delete (audited, announced), paging, and runs ending
// when the token that started them is revoked or the tenant is deleted.
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { agentWorld, type AgentWorld } from "./world.ts";

let w: AgentWorld;
afterEach(async () => {
  await w?.close();
});

describe("sessions", () => {
  test("sessions per tenant and bytes per transcript are capped with errors naming the cap; nothing is dropped", async () => {
    w = await agentWorld({ agents: { maxSessionsPerTenant: 2, maxTranscriptBytes: 4096 } });
    w.fake.script([{ text: "a" }, { text: "b" }]);
    await w.turn({ sessionKey: "one", message: "hi" });
    await w.turn({ sessionKey: "two", message: "hi" });
    const third = await w.rpc("chat.send", { sessionKey: "three", message: "hi" });
    expect(third.error.data.code).toBe("QUOTA_EXCEEDED");
    expect(third.error.message).toContain("agents.maxSessionsPerTenant = 2");
    // A turn whose entries would pass the transcript cap ends with an error entry; the next send is refused.
    w.fake.script([{ text: "y".repeat(5000) }]);
    const big = await w.turn({ sessionKey: "one", message: "long answer please" });
    expect(big).toMatchObject({ status: "error", errorCode: "QUOTA_EXCEEDED" });
    expect(big.errorMessage).toContain("transcript cap of 4096 bytes");
    const entries = (await w.rpc("sessions.history", { sessionKey: "one" })).result.entries;
    expect(entries.at(-1)).toMatchObject({ type: "error", code: "QUOTA_EXCEEDED" });
    const file = path.join(w.core.tenants.dir(scope("acme")), "sessions", `${(await w.rpc("sessions.get", { sessionKey: "one" })).result.sessionId}.jsonl`);
    expect(fs.statSync(file).size).toBeLessThan(4096 + 4096);
    w.fake.script([{ text: "z" }, { text: "z" }]);
    await w.turn({ sessionKey: "one", message: "x".repeat(3000) }).catch(() => undefined);
    const refused = await w.rpc("chat.send", { sessionKey: "one", message: "more" });
    expect(refused.error.data.code).toBe("QUOTA_EXCEEDED");
    expect(refused.error.message).toContain("reset it");
    // A reset starts a new id and an empty transcript; the old file is gone.
    const before = (await w.rpc("sessions.get", { sessionKey: "one" })).result.sessionId;
    const reset = (await w.rpc("sessions.reset", { sessionKey: "one" })).result;
    expect(reset.sessionId).not.toBe(before);
    expect(reset.entries).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect((await w.turn({ sessionKey: "one", message: "fresh" })).status).toBe("ok");
  });

  test("create, reset and delete are audited and announced; list pages and filters", async () => {
    w = await agentWorld();
    w.core.overlays.set(scope("acme"), { agents: { bot: {} } }, operatorCtx);
    w.fake.script(Array.from({ length: 5 }, () => ({ text: "ok" })));
    for (const k of ["a:1", "a:2", "b:1"]) await w.turn({ sessionKey: k, message: "hi" });
    await w.turn({ sessionKey: "bot:1", agentId: "bot", message: "hi" });
    const page1 = (await w.rpc("sessions.list", { limit: 2 })).result;
    expect(page1.sessions.map((s: any) => s.key)).toEqual(["a:1", "a:2"]);
    const page2 = (await w.rpc("sessions.list", { limit: 2, cursor: page1.nextCursor })).result;
    expect(page2.sessions.map((s: any) => s.key)).toEqual(["b:1", "bot:1"]);
    expect(page2.nextCursor).toBeNull();
    expect((await w.rpc("sessions.list", { prefix: "a:" })).result.sessions.map((s: any) => s.key)).toEqual(["a:1", "a:2"]);
    expect((await w.rpc("sessions.list", { agentId: "bot" })).result.sessions.map((s: any) => s.key)).toEqual(["bot:1"]);
    const seq = w.core.audit.head().seq;
    await w.rpc("sessions.reset", { sessionKey: "a:1" });
    await w.rpc("sessions.delete", { sessionKey: "a:2" });
    const records = w.core.audit.query({ tenant: "acme" }).filter((r) => r.seq > seq).map((r) => [r.action, r.target?.id]);
    expect(records).toEqual(expect.arrayContaining([["sessions.reset", "a:1"], ["sessions.delete", "a:2"]]));
    expect(w.core.audit.query({ action: "sessions.create" }).map((r) => r.target?.id).sort()).toEqual(["a:1", "a:2", "b:1", "bot:1"]);
    const changed = w.events.filter((e) => e.method === "sessions.changed").map((e) => `${e.params.sessionKey}:${e.params.reason}`);
    expect(changed).toEqual(["a:1:created", "a:2:created", "b:1:created", "bot:1:created", "a:1:reset", "a:2:deleted"]);
    expect((await w.rpc("sessions.get", { sessionKey: "a:2" })).error.data.code).toBe("NOT_FOUND");
    expect((await w.rpc("sessions.get", { sessionKey: "Not Valid" })).error.data.code).toBe("INVALID_PARAMS");
  });

  test("chat.wait answers `running` at its timeout; revoking the token that started a run ends it", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "slow", delayMs: 10_000 }]);
    const sent = (await w.rpc("chat.send", { sessionKey: "tok", message: "hi" })).result;
    expect((await w.rpc("chat.wait", { runId: sent.runId, timeoutMs: 50 })).result.status).toBe("running");
    expect((await w.rpc("sessions.get", { sessionKey: "tok" })).result.activeRunId).toBe(sent.runId);
    w.core.tenants.rotateToken(scope("acme"), 0, operatorCtx);
    for (let i = 0; i < 100 && w.core.runs.activeCount("acme") > 0; i++) await Bun.sleep(20);
    expect(w.core.runs.activeCount("acme")).toBe(0);
    expect(w.core.handle.sqlite.query("SELECT status, stop_reason AS r FROM agent_runs WHERE id = ?1").get(sent.runId)).toEqual({ status: "aborted", r: "token-revoked" });
  });

  test("deleting the tenant ends its run before its directory goes", async () => {
    w = await agentWorld();
    w.fake.script([{ text: "slow", delayMs: 10_000 }]);
    await w.rpc("chat.send", { sessionKey: "del", message: "hi" });
    await Bun.sleep(50);
    w.core.tenants.remove(scope("acme"), operatorCtx);
    for (let i = 0; i < 100 && w.core.runs.activeCount("acme") > 0; i++) await Bun.sleep(20);
    expect(w.core.runs.activeCount("acme")).toBe(0);
    expect(w.core.handle.sqlite.query("SELECT count(*) AS n FROM agent_runs WHERE tenant_id = 'acme'").get()).toEqual({ n: 0 });
  });
});

describe("the run index is bounded (red team 13, F2b)", () => {
  const runRows = (where = "") => (w.core.handle.sqlite.query(`SELECT count(*) AS n FROM agent_runs WHERE tenant_id = 'acme' ${where}`).get() as { n: number }).n;

  test("a session's runs go with sessions.delete; a tenant keeps at most agents.runsKeptPerTenant finished runs; an answer is cut at 64 Ki characters in the index, whole in the transcript", async () => {
    w = await agentWorld({ agents: { runsKeptPerTenant: 10 } });
    for (let i = 0; i < 3; i++) {
      w.fake.script([{ text: `a${i}` }]);
      await w.turn({ sessionKey: "gone", message: "hi" });
    }
    expect(runRows("AND session_key = 'gone'")).toBe(3);
    expect((await w.rpc("sessions.delete", { sessionKey: "gone" })).error).toBeUndefined();
    expect(runRows("AND session_key = 'gone'")).toBe(0);

    for (let i = 0; i < 15; i++) {
      w.fake.script([{ text: `b${i}` }]);
      await w.turn({ sessionKey: "many", message: "hi" });
    }
    expect(runRows()).toBe(10);
    // The newest are the ones kept: the latest run is still there for chat.wait.
    expect((await w.rpc("chat.wait", { sessionKey: "many", timeoutMs: 0 })).result.text).toBe("b14");

    const big = "y".repeat(300_000);
    w.fake.script([{ text: big }]);
    const run = await w.turn({ sessionKey: "big", message: "hi" });
    expect(run.text.length).toBeLessThan(70_000);
    expect(run.text).toContain("the whole answer is in the session's transcript");
    const stored = w.core.handle.sqlite.query("SELECT length(text) AS n FROM agent_runs WHERE id = ?1").get(run.runId) as { n: number };
    expect(stored.n).toBeLessThan(70_000);
    const entries = (await w.rpc("sessions.history", { sessionKey: "big" })).result.entries;
    expect(entries.find((e: any) => e.type === "assistant").text).toBe(big);
  });
});

describe("reading a transcript parses each appended byte once (red team 13, F3)", () => {
  test("sixteen pages of a session parse its transcript once; a later turn parses only what it appended; a reset reads the new file", async () => {
    w = await agentWorld();
    for (let i = 0; i < 5; i++) {
      w.fake.script([{ text: `answer ${i} ${"z".repeat(20_000)}` }]);
      await w.turn({ sessionKey: "long", message: `q${i}` });
    }
    const file = () => {
      const s = w.core.sessions.get(scope("acme"), "long");
      return path.join(w.core.tenants.dir(scope("acme")), "sessions", `${s.sessionId}.jsonl`);
    };
    const size = fs.statSync(file()).size;
    const before = w.core.sessions.transcriptBytesParsed();
    const pages = [];
    for (let i = 0; i < 16; i++) pages.push(await w.rpc("sessions.history", { sessionKey: "long", limit: 1, cursor: String(i % 10) }));
    for (const [i, p] of pages.entries()) expect(p.result.entries[0]).toEqual(JSON.parse(fs.readFileSync(file(), "utf8").split("\n")[i % 10]!));
    expect(w.core.sessions.transcriptBytesParsed() - before).toBeLessThanOrEqual(size);

    w.fake.script([{ text: "one more" }]);
    await w.turn({ sessionKey: "long", message: "q5" });
    const grown = fs.statSync(file()).size;
    const mid = w.core.sessions.transcriptBytesParsed();
    const all = (await w.rpc("sessions.history", { sessionKey: "long", limit: 1000 })).result.entries;
    expect(all.at(-1)).toMatchObject({ type: "assistant", text: "one more" });
    expect(all).toHaveLength(fs.readFileSync(file(), "utf8").split("\n").filter(Boolean).length);
    expect(w.core.sessions.transcriptBytesParsed() - mid).toBeLessThanOrEqual(grown - size);

    expect(w.core.sessions.transcriptsHeld()).toBe(1);
    await w.rpc("sessions.reset", { sessionKey: "long" });
    expect(w.core.sessions.transcriptsHeld()).toBe(0); // the removed transcript is not kept in memory
    expect((await w.rpc("sessions.history", { sessionKey: "long" })).result.entries).toEqual([]);
    w.core.tenants.remove(scope("acme"), operatorCtx);
    expect(w.core.sessions.transcriptsHeld()).toBe(0);
  });
});
