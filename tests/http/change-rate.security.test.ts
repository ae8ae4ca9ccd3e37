// A tenant cannot fill the gateway's own state disk through audited calls (red team 11, finding 4):
// 11,000 config.patch calls in 10 s once grew state.db-wal to 262 MB and filled the filesystem.
// Audited changes a tenant makes over RPC are now a token bucket per tenant
// (gateway.limits.tenantChangesPerMinute / tenantChangesBurst), every method that writes an audit
// record is counted, and /readyz says so when the state's disk cannot take writes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { ManualClock } from "../../src/core/clock.ts";
import { createRpcRegistry } from "../../src/http/rpc-methods.ts";
import { startS3, type S3World } from "../helpers/backup.ts";
import { createTenant, makeHome, testApp, testCore, scope } from "../helpers/core.ts";
import { CHANNELS_TEST_CONFIG, RESOURCE_EXAMPLES, withIds } from "../helpers/resource-examples.ts";

const patch = (id: number, n: number) => ({ jsonrpc: "2.0", id, method: "config.patch", params: { patch: { agent: { maxTokens: 100 + n } } } });

describe("audited changes per tenant", () => {
  test("past the burst: RATE_LIMITED with Retry-After, nothing written or audited; refilled over time; other tenants unaffected", async () => {
    const clock = new ManualClock(Date.parse("2026-12-01T00:00:00Z"));
    const core = testCore({ clock, config: { gateway: { limits: { tenantChangesPerMinute: 60, tenantChangesBurst: 5 } } } });
    const token = createTenant(core, "evil");
    const victim = createTenant(core, "victim");
    const { call, rpc } = testApp(core);
    const before = core.audit.head().seq;
    const r = await call("POST", "/rpc", { token, body: Array.from({ length: 20 }, (_, i) => patch(i + 1, i)) });
    expect(r.status).toBe(200);
    expect(r.headers.get("retry-after")).toBe("1");
    const items = r.json as { result?: unknown; error?: { message: string; data: { code: string; retryAfterSeconds: number } } }[];
    expect(items.filter((i) => i.result)).toHaveLength(5);
    for (const i of items.slice(5)) {
      expect(i.error!.data).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: 1 });
      expect(i.error!.message).toContain("gateway.limits.tenantChangesPerMinute");
    }
    expect(core.audit.query({ tenant: "evil", actorKind: "tenant" }).filter((x) => x.seq > before)).toHaveLength(5);
    expect(core.overlays.load(scope("evil"))).toEqual({ agent: { maxTokens: 104 } }); // the fifth, and nothing after it
    // Reads are not changes; another tenant has its own bucket.
    expect((await rpc(token, "config.get")).result.config.agent.maxTokens).toBe(104);
    expect((await rpc(victim, "config.patch", { patch: { agent: { maxTokens: 7 } } })).result.config.agent.maxTokens).toBe(7);
    // 60 a minute: one more a second later, and only one.
    clock.advance(1000);
    expect((await call("POST", "/rpc", { token, body: patch(1, 50) })).json.result.config.agent.maxTokens).toBe(150);
    expect((await call("POST", "/rpc", { token, body: patch(1, 51) })).json.error.data.code).toBe("RATE_LIMITED");
    core.close();
  });

  test("the flood of the report: 2,000 changes in one go leave at most the burst in the audit log", async () => {
    const core = testCore();
    const token = createTenant(core, "evil");
    const { call } = testApp(core);
    const before = core.audit.head().seq;
    for (let b = 0; b < 20; b++) await call("POST", "/rpc", { token, body: Array.from({ length: 100 }, (_, i) => patch(i + 1, b * 100 + i)) });
    const written = core.audit.head().seq - before;
    expect(written).toBeGreaterThanOrEqual(30); // the default burst…
    expect(written).toBeLessThanOrEqual(32); // …and what refilled meanwhile (60 a minute)
    core.close();
  });
});

const WS_ONLY_AUDITED = ["terminal.open", "terminal.close"];

describe("every RPC method that writes an audit record counts as a change", () => {
  let s3: S3World;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3.close();
  });

  test("run each method with its example params: those that audit declare `audited`, and those that declare it audit", async () => {
    const core = testCore({ config: { ...s3.config(), sandbox: { allowedModes: ["bwrap"] }, gateway: { channels: CHANNELS_TEST_CONFIG } } });
    let token = createTenant(core, "acme");
    fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "notes.txt"), "hello\n");
    const { rpc } = testApp(core);
    // Examples that name a server-made resource (a cron job) name one of acme's.
    const ids: Record<string, string> = {};
    for (const [k, make] of Object.entries(RESOURCE_EXAMPLES)) ids[k] = await make(core, "acme", "acme job");
    const found: Record<string, { audits: boolean; declared: boolean }> = {};
    for (const m of createRpcRegistry(core).list()) {
      // Over POST /rpc these answer BAD_REQUEST (a terminal needs the WebSocket) and write nothing;
      // over GET /rpc they audit and count: tests/modules/terminal/changes.test.ts.
      if (WS_ONLY_AUDITED.includes(m.name)) {
        expect({ name: m.name, declared: m.audited !== undefined }).toEqual({ name: m.name, declared: true });
        continue;
      }
      const before = core.audit.head().seq;
      const r = await rpc(token, m.name, withIds(m.example, ids));
      if (typeof r.result?.token === "string") token = r.result.token;
      const records = core.audit.query({ actorKind: "tenant", limit: 1000 }).filter((x) => x.seq > before);
      found[m.name] = { audits: records.length > 0, declared: m.audited !== undefined };
      if (m.name === "files.delete") fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "notes.txt"), "hello\n");
    }
    for (const [name, f] of Object.entries(found)) expect({ name, ...f }).toEqual({ name, audits: f.declared, declared: f.declared });
    expect(Object.entries(found).filter(([, f]) => f.declared).map(([n]) => n).sort()).toEqual(["channels.approve", "channels.pair", "channels.unpair", "chat.send", "config.patch", "config.set", "cron.add", "cron.remove", "cron.update", "plugins.disable", "plugins.enable", "plugins.install", "plugins.remove", "sessions.delete", "sessions.reset", "skills.disable", "skills.enable", "skills.install", "skills.remove", "tenants.backup", "tenants.rotate"]);
    core.close();
  }, 60_000);
});

describe("/readyz and the state's disk", () => {
  test("not ready while the filesystem tenants share with state.db and the audit log is under the reserve", async () => {
    const core = testCore({ config: { gateway: { diskReserveMb: 100_000_000 } } });
    const { call } = testApp(core);
    const r = await call("GET", "/readyz");
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ status: "unavailable", checks: { database: true, auditLog: true, diskReserve: false } });
    core.close();
  });

  test("not ready while the state's filesystem is full; ready again once there is room", async () => {
    const mnt = makeHome();
    const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "openclaw-readyz-test", mnt], { stderr: "pipe" });
    if (m.exitCode !== 0) throw new Error(`cannot mount the test filesystem: ${m.stderr.toString()}`);
    try {
      const core = testCore({ home: mnt, config: { gateway: { diskReserveMb: 0, diskReserveInodes: 0 } } });
      createTenant(core, "acme");
      const { call } = testApp(core);
      expect((await call("GET", "/readyz")).status).toBe(200);
      const filler = path.join(mnt, "filler");
      const fd = fs.openSync(filler, "w");
      try {
        const chunk = Buffer.alloc(1024 * 1024, 1);
        for (;;) fs.writeSync(fd, chunk);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
      } finally {
        fs.closeSync(fd);
      }
      const full = await call("GET", "/readyz");
      expect(full.status).toBe(503);
      expect(full.json.checks).toMatchObject({ stateDisk: false });
      fs.rmSync(filler);
      expect((await call("GET", "/readyz")).status).toBe(200);
      core.close();
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  });
});
