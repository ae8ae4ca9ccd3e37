// Sessions as tenant data: a crash-interrupted run is marked aborted at start-up, and sessions (index
// rows and transcripts) travel with the tenant through backup and restore.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { startGateway } from "../../../src/http/gateway.ts";
import { cli } from "../../helpers/cli.ts";
import { makeHome, operatorCtx, scope, testCore } from "../../helpers/core.ts";
import { startFakeProvider } from "../../fake-provider/fake-provider.ts";

const config = (url: string) => ({
  gateway: { port: 0 },
  providers: { local: { kind: "openai", baseUrl: `${url}/v1`, apiKey: "sk-x", timeoutMs: 60_000 } },
  models: { m: { provider: "local", upstreamModel: "up", free: true } },
  quotas: { defaults: { tokensPerDay: null, costPerDayUsd: null, requestsPerMinute: null, maxConcurrent: null } },
});

describe("restart recovery", () => {
  test("a run that was running when the gateway died is marked aborted at the next start, with an entry", async () => {
    const fake = startFakeProvider();
    const home = makeHome();
    const core = testCore({ home, config: config(fake.url) });
    core.tenants.create({ id: "acme" }, operatorCtx);
    fake.script([{ text: "never arrives", delayMs: 60_000 }]);
    const { runId } = core.runs.send(scope("acme"), { sessionKey: "crash", message: "hello" }, operatorCtx);
    await Bun.sleep(100);
    // The process "dies": its state stays as it was on disk. A new gateway starts on the same home.
    const after = testCore({ home, config: config(fake.url) });
    expect((after.handle.sqlite.query("SELECT status FROM agent_runs WHERE id = ?1").get(runId) as any).status).toBe("running");
    const gw = startGateway(after);
    const row = after.handle.sqlite.query("SELECT status, stop_reason AS stopReason, error_code AS code FROM agent_runs WHERE id = ?1").get(runId);
    expect(row).toEqual({ status: "aborted", stopReason: "interrupted", code: "INTERRUPTED" });
    const entries = after.sessions.history(scope("acme"), "crash").entries;
    expect(entries.map((e) => e.type)).toEqual(["user", "abort"]);
    expect(entries[1]).toMatchObject({ runId, reason: "interrupted" });
    // The session is usable again.
    expect(after.runs.activeCount("acme")).toBe(0);
    await gw.stop();
    core.runs.abort(scope("acme"), { runId });
    fake.stop();
  });
});

describe("backup and restore", () => {
  test("sessions and transcripts round-trip; a copy under another id has its own", async () => {
    const fake = startFakeProvider();
    const home = makeHome();
    const core = testCore({ home, config: config(fake.url) });
    core.tenants.create({ id: "acme" }, operatorCtx);
    fake.script([{ toolCalls: [{ name: "file_read", arguments: { path: "x" } }] }, { text: "answer one" }]);
    const sent = core.runs.send(scope("acme"), { sessionKey: "keep:me", message: "question one" }, operatorCtx);
    await sent.done;
    const before = core.sessions.history(scope("acme"), "keep:me");
    const row = core.sessions.get(scope("acme"), "keep:me");
    expect(before.entries.length).toBeGreaterThanOrEqual(3);
    core.close();

    const file = path.join(makeHome(), "acme.tar.zst");
    expect((await cli(home, ["tenants", "backup", "acme", "--to", file])).code).toBe(0);
    expect((await cli(home, ["tenants", "restore", "--from", file, "--as", "acme2"])).code).toBe(0);
    const c2 = testCore({ home, config: config(fake.url) });
    expect(c2.sessions.history(scope("acme2"), "keep:me").entries).toEqual(before.entries);
    expect(c2.sessions.get(scope("acme2"), "keep:me")).toMatchObject({ sessionId: row.sessionId, entries: row.entries, bytes: row.bytes });
    // The original is untouched by the copy; deleting one leaves the other.
    c2.sessions.delete(scope("acme2"), "keep:me", operatorCtx);
    expect(c2.sessions.history(scope("acme"), "keep:me").entries).toEqual(before.entries);
    // Deleting the tenant removes its rows.
    c2.tenants.remove(scope("acme"), operatorCtx);
    expect(c2.handle.sqlite.query("SELECT count(*) AS n FROM agent_sessions WHERE tenant_id = 'acme'").get()).toEqual({ n: 0 });
    expect(c2.handle.sqlite.query("SELECT count(*) AS n FROM agent_runs WHERE tenant_id = 'acme'").get()).toEqual({ n: 0 });
    c2.close();
    fake.stop();
  });
});
