// The protocol-v4 cron methods and the `cron` event on a real gateway, over a real WebSocket, with
// upstream's params — and our answers checked against upstream's OWN closed schemas (CronJobSchema,
// CronAddJobResultSchema, CronRunLogEntrySchema from the pinned `openclaw` package), so the Control
// UI's cron page and the CLI read them as they read upstream's.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { scope } from "../../helpers/core.ts";
import { harness, v4World } from "../openclaw-protocol/v4-client.ts";

const ROOT = path.join(import.meta.dir, "..", "..", "..");
const UPSTREAM_DIR = process.env.OPENCLAW_UPSTREAM_DIR ?? path.join(ROOT, ".cache", "openclaw-upstream");
const DIST = path.join(UPSTREAM_DIR, "node_modules", "openclaw", "dist");
/** Where the pinned 2026.9.6 build keeps the gateway-protocol schemas (and the names its bundler exported them under). */
const SCHEMAS = "src-BRUl7oDv.mjs";

async function upstream() {
  if (!fs.existsSync(path.join(DIST, SCHEMAS))) throw new Error(`upstream OpenClaw 2026.9.6 is not installed at ${UPSTREAM_DIR} (${SCHEMAS} missing): run scripts/test.sh or set OPENCLAW_UPSTREAM_DIR`);
  const m = await import(path.join(DIST, SCHEMAS));
  const { Value } = await import(path.join(UPSTREAM_DIR, "node_modules", "typebox", "build", "value", "index.mjs"));
  const check = (schema: unknown, value: unknown) => ({ ok: Value.Check(schema, value), errors: Value.Check(schema, value) ? [] : [...Value.Errors(schema, value)].slice(0, 5).map((e: any) => `${e.instancePath ?? e.path}: ${e.message}`) });
  return { check, Job: m.$l, AddResult: m.ql, RunEntry: m.nu };
}

const h = harness();
const WRITE = { scopes: ["operator.read", "operator.write"] };
const world = () => h.world(v4World({ cron: { webhookAllow: ["hooks.example.com:443"] } }, { sandbox: { allowedModes: ["bwrap"] } }));
const withoutListExtras = ({ effectiveAgentId: _e, ...j }: Record<string, unknown>) => j;

describe("protocol v4: cron", () => {
  test("add, list, get, update, status, remove in upstream's shapes, inside upstream's closed schemas", async () => {
    const s = await upstream();
    const w = world();
    const { c } = await h.connect(w.a, WRITE);
    const add = await c.request("cron.add", { name: "standup", description: "daily", schedule: { kind: "cron", expr: "0 9 * * 1-5", tz: "Europe/Berlin" }, sessionTarget: "isolated", wakeMode: "now", payload: { kind: "agentTurn", message: "what is on today?" }, delivery: { mode: "none" } });
    expect(add.ok).toBe(true);
    expect(s.check(s.AddResult, add.payload)).toEqual({ ok: true, errors: [] });
    const id = add.payload.id as string;
    expect(add.payload).toMatchObject({ name: "standup", enabled: true, sessionTarget: "isolated", wakeMode: "now", agentId: "main", schedule: { kind: "cron", expr: "0 9 * * 1-5", tz: "Europe/Berlin" }, payload: { kind: "agentTurn", message: "what is on today?" } });
    // The main session, as upstream's clients target it; a command, as upstream's command payload.
    const main = await c.request("cron.add", { name: "ping", schedule: { kind: "every", everyMs: 3_600_000 }, sessionTarget: "main", wakeMode: "now", payload: { kind: "systemEvent", text: "ping" } });
    expect(main.payload).toMatchObject({ sessionTarget: "main", payload: { kind: "agentTurn", message: "ping" } });
    const cmd = await c.request("cron.add", { name: "disk", schedule: { kind: "every", everyMs: 7_200_000 }, sessionTarget: "isolated", wakeMode: "now", enabled: false, payload: { kind: "command", argv: ["du", "-sh", "/work"], timeoutSeconds: 30 } });
    expect(cmd.payload).toMatchObject({ enabled: false, payload: { kind: "command", argv: ["du", "-sh", "/work"], timeoutSeconds: 30 } });
    expect(w.core.cron.get(scope("alpha"), cmd.payload.id).payload).toEqual({ kind: "exec", command: "du", args: ["-sh", "/work"], timeoutSeconds: 30 });

    // The Control UI's load: cron.status and a compact, name-sorted list of every job.
    const status = await c.request("cron.status", {});
    expect(status.payload).toMatchObject({ enabled: true, jobs: 3 });
    expect(JSON.stringify(status.payload)).not.toContain(w.core.home);
    const list = await c.request("cron.list", { includeDisabled: true, limit: 200, offset: 0, sortBy: "name", sortDir: "asc", compact: true });
    expect(list.payload).toMatchObject({ total: 3, offset: 0, hasMore: false, nextOffset: null });
    // Upstream's CLI checks each page is of one listing: the same revision on every page of it.
    expect(list.payload.snapshotRevision).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect((await c.request("cron.list", { includeDisabled: true, sortBy: "name", limit: 1, offset: 2 })).payload.snapshotRevision).toBe(list.payload.snapshotRevision);
    expect(list.payload.jobs.map((j: any) => j.name)).toEqual(["disk", "ping", "standup"]);
    for (const j of list.payload.jobs) expect(s.check(s.Job, withoutListExtras(j))).toEqual({ ok: true, errors: [] });
    expect((await c.request("cron.list", {})).payload.total).toBe(2); // enabled ones unless asked
    expect((await c.request("cron.list", { enabled: "disabled", query: "DISK" })).payload.jobs.map((j: any) => j.id)).toEqual([cmd.payload.id]);
    expect((await c.request("cron.list", { includeDisabled: true, limit: 1, offset: 1, sortBy: "name" })).payload).toMatchObject({ total: 3, hasMore: true, nextOffset: 2, jobs: [{ name: "ping" }] });

    const got = await c.request("cron.get", { id });
    expect(s.check(s.Job, got.payload)).toEqual({ ok: true, errors: [] });
    // The schema is closed: our own fields (catchUp, a null state field) would not pass it.
    expect(s.check(s.Job, { ...got.payload, catchUp: "once" }).ok).toBe(false);
    expect(s.check(s.Job, { ...got.payload, state: { ...got.payload.state, lastError: null } }).ok).toBe(false);
    // Upstream patches a payload field by field: the message changes, the kind and target stay.
    const upd = await c.request("cron.update", { id, patch: { enabled: false, payload: { message: "and tomorrow?" } } });
    expect(upd.payload).toMatchObject({ enabled: false, sessionTarget: "isolated", payload: { kind: "agentTurn", message: "and tomorrow?" } });
    expect(s.check(s.Job, upd.payload)).toEqual({ ok: true, errors: [] });
    expect(await c.request("cron.remove", { jobId: id })).toMatchObject({ ok: true, payload: { ok: true, removed: true } });
    expect((await c.request("cron.list", { includeDisabled: true })).payload.total).toBe(2);
    // Audited as changes of the tenant, by its token.
    const records = w.core.audit.query({ tenant: "alpha" }).filter((r) => r.action.startsWith("cron."));
    expect(records.map((r) => r.action).reverse()).toEqual(["cron.add", "cron.add", "cron.add", "cron.update", "cron.remove"]);
    expect(new Set(records.map((r) => r.actor.kind))).toEqual(new Set(["tenant"]));
  });

  test("cron.run: enqueued, then `cron` events started and finished; cron.runs entries inside upstream's run-log schema", async () => {
    const s = await upstream();
    const w = world();
    const { c } = await h.connect(w.a, WRITE);
    const job = (await c.request("cron.add", { name: "hello", schedule: { kind: "every", everyMs: 3_600_000 }, sessionTarget: "isolated", wakeMode: "now", payload: { kind: "command", argv: ["echo", "hello from v4"] } })).payload;
    const finished = c.nextEvent("cron", 30_000).then(() => c.raw.next((m) => m.type === "event" && m.event === "cron" && m.payload.action === "finished", "cron finished", 30_000));
    const run = await c.request("cron.run", { id: job.id });
    expect(run.payload).toEqual({ ok: true, enqueued: true, runId: expect.stringMatching(/^crun_/) });
    const end = await finished;
    const started = c.events("cron")[0];
    expect(started.payload).toEqual({ jobId: job.id, action: "started", runId: run.payload.runId });
    expect(end.payload).toEqual({ jobId: job.id, action: "finished", runId: run.payload.runId, status: "ok" });
    const runs = await c.request("cron.runs", { scope: "job", id: job.id, limit: 50 });
    expect(runs.payload).toMatchObject({ total: 1, offset: 0, limit: 50, hasMore: false, nextOffset: null });
    const entry = runs.payload.entries[0];
    expect(entry).toMatchObject({ jobId: job.id, action: "finished", status: "ok", runId: run.payload.runId, jobName: "hello", deliveryStatus: "not-requested" });
    expect(entry.summary).toContain("hello from v4");
    expect(s.check(s.RunEntry, entry)).toEqual({ ok: true, errors: [] });
    expect((await c.request("cron.runs", {})).payload.total).toBe(1); // every job's
    expect((await c.request("cron.runs", { statuses: ["error"] })).payload.total).toBe(0);
    // Not due: not run.
    expect((await c.request("cron.run", { id: job.id, mode: "due" })).payload).toEqual({ ok: true, ran: false, reason: "not-due" });
    // B's connection heard none of A's cron events.
    const { c: cb } = await h.connect(w.b, WRITE);
    await cb.request("health", {});
    expect(cb.events("cron")).toEqual([]);
  }, 60_000);

  test("a job that is not the caller's is upstream's not-found answer, word for word as for none; refusals name the field; writing needs operator.write", async () => {
    const w = world();
    const { c } = await h.connect(w.a, WRITE);
    const { c: cb } = await h.connect(w.b, WRITE);
    const theirs = (await cb.request("cron.add", { name: "beta only", schedule: { kind: "every", everyMs: 3_600_000 }, sessionTarget: "isolated", wakeMode: "now", payload: { kind: "agentTurn", message: "beta's words" } })).payload.id as string;
    const ghost = "5b0e5b2c-0000-4000-8000-000000000000";
    for (const [method, extra] of [["cron.get", {}], ["cron.update", { patch: { enabled: false } }], ["cron.remove", {}], ["cron.run", {}], ["cron.runs", { scope: "job" }]] as const) {
      const onB = await c.request(method, { id: theirs, ...extra });
      const none = await c.request(method, { id: ghost, ...extra });
      expect({ method, ok: onB.ok, code: onB.error?.details?.code }).toEqual({ method, ok: false, code: "CRON_JOB_NOT_FOUND" });
      expect(JSON.stringify(onB.error).replaceAll(theirs, "ID")).toBe(JSON.stringify(none.error).replaceAll(ghost, "ID"));
    }
    expect((await c.request("cron.get", { id: ghost })).error.message).toBe(`cron job not found: ${ghost}. List automations and retry with a current job id.`);
    expect((await cb.request("cron.get", { id: theirs })).payload).toMatchObject({ enabled: true, name: "beta only" });

    const refused = async (params: Record<string, unknown>) => {
      const r = await c.request("cron.add", { name: "x", sessionTarget: "isolated", wakeMode: "now", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "m" }, ...params });
      expect(r.error?.code).toBe("INVALID_REQUEST");
      return r.error.message as string;
    };
    expect(await refused({ schedule: { kind: "stream", command: ["tail"] } })).toContain("invalid cron.add params: schedule.kind");
    expect(await refused({ schedule: { kind: "cron", expr: "* * * *  * * *" } })).toContain("schedule.expr");
    expect(await refused({ payload: { kind: "script", script: "1" } })).toContain("payload.kind");
    // (Issue 17: a named channel is a channel delivery now, refused as "not available yet" before; it needs the chat.)
    expect(await refused({ delivery: { mode: "announce", channel: "telegram" } })).toContain("delivery.to: is required");
    // Upstream CLI's default, announce to the "last" channel the user spoke on: there is none here.
    const last = await c.request("cron.add", { name: "quiet", sessionTarget: "isolated", wakeMode: "now", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "m" }, delivery: { mode: "announce", channel: "last" } });
    expect(last.payload.delivery).toEqual({ mode: "none" });
    expect(await refused({ sessionTarget: "elsewhere" })).toContain("sessionTarget");
    expect(await refused({ name: "" })).toContain("name is required");
    expect((await c.request("cron.update", { patch: {} })).error.message).toBe("invalid cron.update params: missing id");

    // A webhook's key, once: in the one place upstream's closed answer has for words about delivery.
    const hook = await c.request("cron.add", { name: "hook", sessionTarget: "isolated", wakeMode: "now", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "m" }, delivery: { mode: "webhook", to: "https://hooks.example.com/in" } });
    expect(hook.payload.delivery).toEqual({ mode: "webhook", to: "https://hooks.example.com/in" });
    const key = /whsec_[A-Za-z0-9_-]+/.exec(hook.payload.deliveryPreview.detail)![0];
    expect(JSON.stringify((await c.request("cron.get", { id: hook.payload.id })).payload)).not.toContain(key);
    // A job turned into a webhook by cron.update: its new key in that answer, the only copy.
    const plain = (await c.request("cron.add", { name: "plain", sessionTarget: "isolated", wakeMode: "now", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "m" } })).payload;
    const turned = await c.request("cron.update", { id: plain.id, patch: { delivery: { mode: "webhook", to: "https://hooks.example.com/plain" } } });
    expect(turned.payload.delivery).toEqual({ mode: "webhook", to: "https://hooks.example.com/plain" });
    expect(turned.payload.deliveryPreview.detail).toMatch(/secret \(shown once\): whsec_/);

    const { c: reader } = await h.connect(w.a, { scopes: ["operator.read"] });
    const denied = await reader.request("cron.add", { name: "x", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "m" } });
    expect(denied.error).toMatchObject({ code: "FORBIDDEN", details: { requiredScope: "operator.write" } });
    expect((await reader.request("cron.list", {})).ok).toBe(true);
  });
});
