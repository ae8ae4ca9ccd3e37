// The cron surfaces a tenant and the operator use: the RPC methods (cron.add … cron.status) and the
// admin API (/admin/v1/tenants/:id/cron…), on the real cron service and a real state.db. Jobs here
// are scheduled an hour or more out: nothing fires by itself while a test runs.
import { describe, expect, test } from "bun:test";
import { adminKey, createTenant, testApp, testCore } from "../../helpers/core.ts";
import { agentWorld } from "../agents/world.ts";

const HOUR = 3_600_000;
const job = (over: Record<string, unknown> = {}) => ({ name: "hourly", schedule: { kind: "every", everyMs: HOUR }, payload: { kind: "agentTurn", message: "hello" }, ...over });

function world(config: Record<string, unknown> = {}) {
  const core = testCore({ config: { gateway: { cron: { webhookAllow: ["hooks.example.com:443"] } }, ...config } });
  const key = adminKey(core);
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  return { core, key, a, b, ...testApp(core) };
}

describe("cron over RPC", () => {
  test("add, list, get, update, status, remove: the caller's own jobs, each change audited under its token", async () => {
    const { core, a, b, rpc } = world();
    const added = await rpc(a, "cron.add", job({ schedule: { kind: "cron", expr: "0 9 * * 1-5", tz: "Europe/Berlin" }, description: "weekday mornings" }));
    expect(added.error).toBeUndefined();
    const id = added.result.id as string;
    expect(added.result).toMatchObject({ name: "hourly", enabled: true, schedule: { kind: "cron", expr: "0 9 * * 1-5", tz: "Europe/Berlin" }, payload: { kind: "agentTurn", message: "hello" }, delivery: { mode: "none" }, catchUp: "once" });
    // Next weekday 09:00 in Berlin is 07:00 or 08:00 UTC.
    expect([7, 8]).toContain(new Date(added.result.state.nextRunAtMs).getUTCHours());
    await rpc(b, "cron.add", job({ name: "beta's" }));

    const list = await rpc(a, "cron.list", {});
    expect(list.result).toMatchObject({ total: 1, items: [{ id, name: "hourly" }] });
    expect((await rpc(a, "cron.get", { id })).result).toMatchObject({ id, description: "weekday mornings" });
    expect((await rpc(a, "cron.get", { jobId: id })).result.id).toBe(id);

    const off = await rpc(a, "cron.update", { id, patch: { enabled: false, name: "paused" } });
    expect(off.result).toMatchObject({ id, enabled: false, name: "paused", state: { nextRunAtMs: null } });
    expect((await rpc(a, "cron.list", {})).result.total).toBe(0); // disabled jobs only with includeDisabled
    expect((await rpc(a, "cron.list", { includeDisabled: true, query: "PAUS" })).result.items.map((j: any) => j.id)).toEqual([id]);
    expect((await rpc(a, "cron.status", {})).result).toMatchObject({ enabled: true, jobCount: 1, enabledJobCount: 0, runningCount: 0, nextWakeAtMs: null });

    expect((await rpc(a, "cron.remove", { id })).result).toEqual({ removed: true, id });
    const gone = await rpc(a, "cron.get", { id });
    expect(gone.error.data.code).toBe("NOT_FOUND");
    // B's job is B's: untouched by everything A did.
    expect((await rpc(b, "cron.list", {})).result).toMatchObject({ total: 1, items: [{ name: "beta's", enabled: true }] });

    const records = core.audit.query({ tenant: "alpha" }).filter((r) => r.action.startsWith("cron."));
    expect(records.map((r) => [r.action, r.actor.kind, r.target?.id, r.outcome]).reverse()).toEqual([
      ["cron.add", "tenant", id, "ok"],
      ["cron.update", "tenant", id, "ok"],
      ["cron.remove", "tenant", id, "ok"],
    ]);
    core.close();
  });

  test("refusals name the field — unknown keys, a schedule kind, an expression, an interval under the minimum, a time in the past, a webhook host not allowed — and add nothing", async () => {
    const { core, a, rpc } = world();
    const refused = async (params: Record<string, unknown>) => {
      const r = await rpc(a, "cron.add", params);
      expect(r.error?.data?.code).toBe("INVALID_PARAMS");
      return r.error.message as string;
    };
    expect(await refused(job({ payload: { kind: "exec", comand: "ls" } }))).toContain("params.payload.comand is not a known parameter");
    expect(await refused(job({ colour: "red" }))).toContain("params.colour is not a known parameter");
    expect(await refused(job({ schedule: { kind: "hourly" } }))).toMatch(/params\.schedule\.kind must be one of "cron", "every", "at"/);
    expect(await refused(job({ schedule: { kind: "cron", expr: "61 * * * *" } }))).toMatch(/schedule\.expr/);
    expect(await refused(job({ schedule: { kind: "cron", expr: "0 9 * * *", tz: "Mars/Olympus" } }))).toMatch(/schedule\.tz/);
    expect(await refused(job({ schedule: { kind: "every", everyMs: 1000 } }))).toMatch(/schedule\.everyMs/);
    expect(await refused(job({ schedule: { kind: "at", at: "2001-01-01T00:00:00Z" } }))).toMatch(/schedule\.at/);
    expect(await refused(job({ delivery: { mode: "webhook", url: "http://127.0.0.1:8080/hook" } }))).toMatch(/delivery\.url.*not in the gateway's webhook allow-list/);
    // (Issue 17: channel delivery exists now — refused as "not available yet" before; it needs the chat.)
    expect(await refused(job({ delivery: { mode: "channel", channel: "telegram" } }))).toMatch(/delivery\.to: is required/);
    expect((await rpc(a, "cron.status", {})).result.jobCount).toBe(0);
    expect(core.audit.query({ tenant: "alpha" }).filter((r) => r.action.startsWith("cron."))).toEqual([]);
    core.close();
  });

  test("a job is named by id or jobId: both naming different jobs, or neither, is refused saying so", async () => {
    const { core, a, rpc } = world();
    const one = (await rpc(a, "cron.add", job())).result.id;
    const two = (await rpc(a, "cron.add", job({ name: "two" }))).result.id;
    const both = await rpc(a, "cron.remove", { id: one, jobId: two });
    expect(both.error).toMatchObject({ data: { code: "INVALID_PARAMS" }, message: expect.stringContaining("name different jobs") });
    const neither = await rpc(a, "cron.update", { patch: { enabled: false } });
    expect(neither.error).toMatchObject({ data: { code: "INVALID_PARAMS" }, message: expect.stringContaining("params.id is required") });
    const empty = await rpc(a, "cron.update", { id: one, patch: {} });
    expect(empty.error.data.code).toBe("INVALID_PARAMS");
    expect((await rpc(a, "cron.list", {})).result.total).toBe(2);
    core.close();
  });

  test("a webhook's signing key is in cron.add's answer only; as a notification cron.add is refused and not run", async () => {
    const { core, a, rpc, call } = world();
    const added = (await rpc(a, "cron.add", job({ delivery: { mode: "webhook", url: "https://hooks.example.com/cron" } }))).result;
    const secret = added.delivery.secret as string;
    expect(secret).toMatch(/^whsec_.{32,}$/);
    expect(added.delivery).toEqual({ mode: "webhook", url: "https://hooks.example.com/cron", secret });
    for (const r of [await rpc(a, "cron.get", { id: added.id }), await rpc(a, "cron.list", {}), await rpc(a, "cron.update", { id: added.id, patch: { name: "renamed" } })]) {
      expect(r.text).not.toContain(secret);
      expect(r.text).not.toContain('"secret"');
    }
    const note = await call("POST", "/rpc", { token: a, body: { jsonrpc: "2.0", method: "cron.add", params: job({ name: "lost" }) } });
    expect(note.json.error.message).toContain("must be called with an \"id\"");
    expect((await rpc(a, "cron.list", {})).result.total).toBe(1);
    // A job that becomes a webhook gets a new key, in that update's answer only: as a notification,
    // whose answer nobody reads, the update is refused and not run.
    const plain = (await rpc(a, "cron.add", job({ name: "plain" }))).result.id;
    const toHook = { id: plain, patch: { delivery: { mode: "webhook", url: "https://hooks.example.com/plain" } } };
    const lost = await call("POST", "/rpc", { token: a, body: { jsonrpc: "2.0", method: "cron.update", params: toHook } });
    expect(lost.json.error.message).toContain("must be called with an \"id\"");
    expect((await rpc(a, "cron.get", { id: plain })).result.delivery).toEqual({ mode: "none" });
    const shown = (await rpc(a, "cron.update", toHook)).result.delivery;
    expect(shown.secret).toMatch(/^whsec_/);
    expect((await rpc(a, "cron.get", { id: plain })).text).not.toContain(shown.secret);
    core.close();
  });
});

describe("cron on the admin API", () => {
  test("the operator manages a tenant's jobs: add (201), list with disabled ones, get, patch, run, runs, status, delete — audited as the admin", async () => {
    const { core, key, call } = world();
    const base = "/admin/v1/tenants/alpha/cron";
    const created = await call("POST", base, { token: key, body: job({ enabled: false, payload: { kind: "exec", command: "true" } }) });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect(created.json).toMatchObject({ enabled: false, payload: { kind: "exec", command: "true" } });
    expect((await call("GET", base, { token: key })).json).toMatchObject({ total: 1, items: [{ id }] });
    expect((await call("GET", `${base}?includeDisabled=false`, { token: key })).json.total).toBe(0);
    expect((await call("GET", `${base}/${id}`, { token: key })).json.id).toBe(id);
    const patched = await call("PATCH", `${base}/${id}`, { token: key, body: { enabled: true, schedule: { kind: "every", everyMs: 2 * HOUR } } });
    expect(patched.json).toMatchObject({ enabled: true, schedule: { kind: "every", everyMs: 2 * HOUR } });
    expect((await call("GET", `${base}/status`, { token: key })).json).toMatchObject({ jobCount: 1, enabledJobCount: 1 });
    expect((await call("GET", `${base}/runs?jobId=${id}&statuses=ok,error`, { token: key })).json).toMatchObject({ total: 0, items: [] });
    expect((await call("DELETE", `${base}/${id}`, { token: key })).json).toEqual({ removed: true, id });
    expect((await call("GET", `${base}/${id}`, { token: key })).status).toBe(404);
    const records = core.audit.query({ tenant: "alpha" }).filter((r) => r.action.startsWith("cron."));
    expect(records.map((r) => [r.action, r.actor.kind]).reverse()).toEqual([
      ["cron.add", "admin"],
      ["cron.update", "admin"],
      ["cron.remove", "admin"],
    ]);
    core.close();
  });

  test("an unknown tenant or job is 404; a bad body is 400 naming the field; nothing changes", async () => {
    const { core, key, call, a, rpc } = world();
    expect((await call("GET", "/admin/v1/tenants/ghost/cron", { token: key })).status).toBe(404);
    expect((await call("POST", "/admin/v1/tenants/ghost/cron", { token: key, body: job() })).status).toBe(404);
    expect((await call("POST", "/admin/v1/tenants/alpha/cron/00000000-0000-4000-8000-000000000000/run", { token: key })).status).toBe(404);
    const bad = await call("POST", "/admin/v1/tenants/alpha/cron", { token: key, body: job({ schedule: { kind: "cron", expr: "* * *" } }) });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("schedule.expr");
    const unknown = await call("POST", "/admin/v1/tenants/alpha/cron", { token: key, body: job({ payload: { kind: "agentTurn", message: "x", model: "gpt" } }) });
    expect(unknown.status).toBe(400);
    expect((await rpc(a, "cron.list", { includeDisabled: true })).result.total).toBe(0);
    core.close();
  });
});

describe("cron.run and cron.runs", () => {
  test("a run now is recorded as manual with the agent's answer, its usage and cost; the history pages newest first; a second run while one goes is refused", async () => {
    const w = await agentWorld();
    try {
      const added = await w.rpc("cron.add", job({ payload: { kind: "agentTurn", message: "report [[words:4]]" } }));
      const id = added.result.id as string;
      const started = await w.rpc("cron.run", { id });
      expect(started.result).toMatchObject({ jobId: id, trigger: "manual", status: "running" });
      let run: any;
      for (let i = 0; i < 200; i++) {
        run = (await w.rpc("cron.runs", { id })).result.items[0];
        if (run.status !== "running") break;
        await Bun.sleep(50);
      }
      expect(run).toMatchObject({ id: started.result.id, status: "ok", error: null });
      expect(run.output.split(/\s+/).filter(Boolean)).toHaveLength(4);
      expect(run.usage.inputTokens).toBeGreaterThan(0);
      expect(run.usage.outputTokens).toBeGreaterThan(0);
      expect(run.usage.costMicroUsd).toBeGreaterThan(0);
      // The run went through the agent runtime: the ledger has its model call, under the tenant.
      const second = await w.rpc("cron.run", { jobId: id });
      expect(second.result.status).toBe("running");
      const third = await w.rpc("cron.run", { id });
      expect(third.error?.data?.code).toBe("CONFLICT");
      for (let i = 0; i < 200 && (await w.rpc("cron.runs", { id, statuses: ["running"] })).result.total > 0; i++) await Bun.sleep(50);
      const page = (await w.rpc("cron.runs", { limit: 1 })).result;
      expect(page).toMatchObject({ total: 2, limit: 1, offset: 0, items: [{ id: second.result.id }] });
      expect((await w.rpc("cron.runs", { limit: 1, offset: 1 })).result.items[0].id).toBe(run.id);
      expect((await w.rpc("cron.get", { id })).result.state).toMatchObject({ lastRunStatus: "ok", consecutiveErrors: 0 });
    } finally {
      await w.close();
    }
  });
});
