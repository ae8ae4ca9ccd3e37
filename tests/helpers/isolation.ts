// The isolation suite, generated from what the core is built of: the route table and the RPC registry
// say what to attack (tenant A's token naming tenant B's things, every tenant token on the control
// plane), and the modules' tenant data (modules/module.ts: TenantData) says what of B's must not change
// — every row of every declared table, every file under B's directory — besides B's record, token and
// overlay. A route or method the suite cannot classify fails it, so coverage keeps up by itself; a
// module added to the list (or passed in, as a test's toy module) is attacked and watched with no
// change here.
import { craftTar, manifest, skillMd } from "./skill-packages.ts";
import { describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Core } from "../../src/app/core.ts";
import type { AnyModule } from "../../src/modules/module.ts";
import { EXAMPLE_JOB_ID } from "../../src/modules/cron/cron.model.ts";
import { CHANNELS_TEST_CONFIG, namesResource, seedResources, withIds } from "./resource-examples.ts";
import { adminKey, createTenant, operatorCtx, scope, testApp, testCore } from "./core.ts";
import { cliParams, V4Client } from "../modules/openclaw-protocol/v4-client.ts";
import { WsClient } from "./ws.ts";

/**
 * The notifications the tenant events carry (issue 13: the agent runtime publishes them on the events
 * bus). Events have no registry to generate from; a new event method is added here.
 */
export const TENANT_EVENT_METHODS = ["chat.delta", "chat.tool", "chat.final", "chat.error", "sessions.changed", "cron", "channels"] as const;

export interface IsolationOptions {
  /** Modules built after the standard list. */
  extraModules?: readonly AnyModule[];
  /** Gives tenant B (and A) something of each extra module's, so that a leak would show. */
  seed?: (core: Core, world: { a: string; b: string }) => void | Promise<void>;
}

/** Every file and directory under `dir`, with a hash of each file's bytes. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[`${r}/`] = "dir";
        walk(p, r);
      } else out[r] = e.isFile() ? crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex") : "other";
    }
  };
  walk(dir, "");
  return out;
}

export async function isolationWorld(opts: IsolationOptions = {}) {
  const core = testCore({
    config: {
      gateway: { channels: CHANNELS_TEST_CONFIG, authThrottle: { perIpMaxFailures: 10_000, perIpTenantMaxFailures: 10_000 }, limits: { tenantChangesPerMinute: 100_000, tenantChangesBurst: 100_000 }, websocket: { messagesBurst: 10_000, messagesPerSecond: 10_000, tenantMessagesBurst: 100_000, tenantMessagesPerSecond: 100_000 } },
      providers: { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
      models: { m: { provider: "p", upstreamModel: "m", free: true } },
    },
    extraModules: opts.extraModules,
  });
  adminKey(core);
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  core.overlays.set(scope("beta"), { agent: { systemPrompt: "beta's secret prompt" } }, operatorCtx);
  core.tenants.setQuota(scope("beta"), { tokensPerDay: 4242 }, operatorCtx);
  // Same file name in both workspaces: a method that read B's would show B's words.
  core.files.write(scope("alpha"), "notes.txt", Buffer.from("alpha's own notes"));
  core.files.write(scope("beta"), "notes.txt", Buffer.from("beta's secret notes"));
  // Same session key in both: a method that read B's session would show B's words.
  for (const [id, words] of [["alpha", "alpha's own chat"], ["beta", "beta's secret chat"]] as const) {
    const row = core.sessions.ensure(scope(id), "main", "main", operatorCtx);
    core.sessions.append(scope(id), row, { type: "user", ts: Date.now(), runId: "run_seed", content: words });
  }
  // Server-made resources of each tenant, named by the methods' examples (B's with B's secret words).
  const idsA = await seedResources(core, "alpha", "alpha's own job");
  const idsB = await seedResources(core, "beta", "beta's secret job");
  // B's own skill and plugin, named as the methods' examples name them (A's calls must never touch them).
  await core.skills.install(scope("beta"), "skill", { archive: await craftTar([{ name: "SKILL.md", data: skillMd("pdf-tools", "beta's secret skill") }], { gzip: true }) }, operatorCtx);
  // B's plugin also declares an MCP server (listed by B's mcp.servers as pdf-tools-srv; never A's).
  const bPlugin = manifest("pdf-tools", { mcpServers: { srv: { command: ["/bin/sh", "/mnt/plugin/run.sh", "beta-secret-mcp"] } } });
  await core.skills.install(scope("beta"), "plugin", { archive: await craftTar([{ name: "openclaw.plugin.json", data: bPlugin }, { name: "run.sh", data: "cat\n" }], { gzip: true }) }, operatorCtx);
  await opts.seed?.(core, { a, b });
  const h = testApp(core);
  const betaDir = core.tenants.dir(scope("beta"));
  const snapshot = () => ({
    tenant: core.tenants.get(scope("beta")),
    tokenWorks: core.tokens.verify(b).ok,
    // Every row of beta's in every table a module declares (but the audit log, where the attempts
    // themselves are recorded: the tests check those records), and everything under its directory.
    rows: Object.fromEntries(core.tenantData.tables.filter((t) => t.keep !== "log").map((t) => [t.table, core.handle.sqlite.query(`SELECT * FROM ${t.table} WHERE ${t.tenantColumn} = ?1`).all("beta")])),
    files: tree(betaDir),
  });
  return { core, a, b, idsA, idsB, ...h, snapshot };
}

export function surfaceOfRoute(p: string): "admin" | "rpc" | "mcp" | "openai" | "ws" | "v4" | "public" | "unclassified" {
  if (p.startsWith("/admin/v1/") || p === "/metrics") return "admin";
  // Upstream OpenClaw's protocol (a WebSocket on /): its methods are attacked by the v4 test below.
  if (p === "/") return "v4";
  if (p === "/rpc") return "rpc";
  // The tenant's MCP server: every tool it lists is attacked by the /mcp test below.
  if (p === "/mcp") return "mcp";
  if (p.startsWith("/v1/")) return "openai";
  if (p.startsWith("/ws/")) return "ws";
  if (["/healthz", "/readyz", "/rpc/openrpc.json", "/admin/openapi.json"].includes(p) || p.startsWith("/admin/docs")) return "public";
  // Chat platforms' webhooks: no tenant token, a path id and the platform's signature (attacked in
  // tests/modules/channels: another tenant's path, secret or signature is the one identical 404).
  if (p.startsWith("/channels/")) return "public";
  // The web console: its sign-in takes a credential in the body and answers only the caller's own
  // session (attacked in tests/modules/console: A's cookie naming B is NOT_FOUND everywhere).
  if (p === "/ui" || p.startsWith("/ui/")) return "public";
  return "unclassified";
}

/** The generated isolation tests, over the standard modules and `opts.extraModules`. */
export function describeIsolation(label: string, opts: IsolationOptions = {}) {
  describe(label, () => {
    test("every route is classified", async () => {
      const { core, app } = await isolationWorld(opts);
      const unclassified = app.routes.filter((r) => surfaceOfRoute(r.path) === "unclassified").map((r) => `${r.method} ${r.path}`);
      expect(unclassified).toEqual([]);
      core.close();
    });

    test("every RPC method that takes a tenantId declares itself tenant-scoped", async () => {
      const { core, registry } = await isolationWorld(opts);
      for (const m of registry.list()) {
        const props = (m.params as { properties?: Record<string, unknown> }).properties ?? {};
        expect({ method: m.name, scoped: "tenantId" in props }).toEqual({ method: m.name, scoped: m.tenantScoped });
      }
      core.close();
    });

    test("RPC: naming another tenant is NOT_FOUND (same as a tenant that does not exist), B unchanged, denial audited", async () => {
      const { core, a, b, idsA, rpc, registry, snapshot } = await isolationWorld(opts);
      const scoped = registry.list().filter((m) => m.tenantScoped);
      expect(scoped.length).toBeGreaterThanOrEqual(6);
      for (const m of scoped) {
        const before = snapshot();
        const seq = core.audit.head().seq;
        const onB = await rpc(a, m.name, { ...withIds(m.example as object, idsA), tenantId: "beta" });
        const onGhost = await rpc(a, m.name, { ...withIds(m.example as object, idsA), tenantId: "ghost" });
        expect({ method: m.name, code: onB.error?.data?.code }).toEqual({ method: m.name, code: "NOT_FOUND" });
        expect(onB.error.message.replace("beta", "X")).toBe(onGhost.error.message.replace("ghost", "X"));
        expect(onB.error.code).toBe(onGhost.error.code);
        expect(onB.text).not.toContain("secret prompt");
        expect({ method: m.name, beta: snapshot() }).toEqual({ method: m.name, beta: before });
        const denied = core.audit.query({ outcome: "denied" }).filter((r) => r.seq > seq);
        expect(denied.map((r) => ({ action: r.action, target: r.target?.id, by: r.tenant }))).toEqual([
          { action: m.name, target: "ghost", by: "alpha" },
          { action: m.name, target: "beta", by: "alpha" },
        ]);
      }
      expect(core.tokens.verify(b).ok).toBe(true);
      core.close();
    });

    test("RPC: no method returns another tenant's data to A", async () => {
      const { core, a, b, idsA, rpc, registry } = await isolationWorld(opts);
      for (const m of registry.list()) {
        if (m.mutates) continue;
        const r = await rpc(a, m.name, withIds(m.example, idsA));
        expect({ method: m.name, error: r.error ?? null }).toEqual({ method: m.name, error: null });
        expect(r.text).not.toContain("beta");
        expect(r.text).not.toContain("secret");
        expect(r.text).not.toContain(b.slice(0, 14));
      }
      core.close();
    });

    test("RPC: B's resource named by its id (a cron job) is the same NOT_FOUND as an id that names nothing; B unchanged", async () => {
      const { core, a, b, idsB, rpc, registry, snapshot } = await isolationWorld(opts);
      const naming = registry.list().filter((m) => namesResource(m.example));
      expect(naming.map((m) => m.name)).toEqual(expect.arrayContaining(["cron.get", "cron.update", "cron.run", "cron.remove"]));
      const ghosts = Object.fromEntries(Object.keys(idsB).map((k) => [k, crypto.randomUUID()]));
      for (const m of naming) {
        const before = snapshot();
        const onB = await rpc(a, m.name, withIds(m.example, idsB));
        const onGhost = await rpc(a, m.name, withIds(m.example, ghosts));
        // The answers with the ids (and the request's own id) taken out: word for word the same.
        const unname = (text: string, ids: Record<string, string>) => Object.values(ids).reduce((t, id) => t.replaceAll(id, "ID"), text).replace(/"requestId":"[^"]*"/g, '"requestId":"R"');
        expect({ method: m.name, code: onB.error?.data?.code }).toEqual({ method: m.name, code: "NOT_FOUND" });
        expect({ method: m.name, b: unname(JSON.stringify(onB.error), idsB) }).toEqual({ method: m.name, b: unname(JSON.stringify(onGhost.error), ghosts) });
        expect(onB.text).not.toContain("secret");
        expect({ method: m.name, beta: snapshot() }).toEqual({ method: m.name, beta: before });
      }
      // B still has its job, unchanged, and sees it.
      const mine = await rpc(b, "cron.get", { id: idsB[EXAMPLE_JOB_ID] });
      expect(mine.result).toMatchObject({ id: idsB[EXAMPLE_JOB_ID], name: "beta's secret job", enabled: true });
      core.close();
    });

    test("WebSocket (GET /rpc): every method as over POST /rpc — B named is NOT_FOUND, B unchanged, denial audited, nothing of B's returned — and A never hears B's events", async () => {
      const { core, a, b, idsA, app, registry, snapshot } = await isolationWorld(opts);
      app.listen({ port: 0, hostname: "127.0.0.1" });
      const url = `ws://127.0.0.1:${app.server!.port}/rpc`;
      const ca = await WsClient.open(url, { token: a });
      const cb = await WsClient.open(url, { token: b });
      const scoped = registry.list().filter((m) => m.tenantScoped);
      expect(scoped.length).toBeGreaterThanOrEqual(6);
      for (const m of scoped) {
        const before = snapshot();
        const seq = core.audit.head().seq;
        const onB = await ca.call(m.name, { ...withIds(m.example as object, idsA), tenantId: "beta" });
        const onGhost = await ca.call(m.name, { ...withIds(m.example as object, idsA), tenantId: "ghost" });
        expect({ method: m.name, code: onB.error?.data?.code }).toEqual({ method: m.name, code: "NOT_FOUND" });
        expect(onB.error.message.replace("beta", "X")).toBe(onGhost.error.message.replace("ghost", "X"));
        expect({ method: m.name, beta: snapshot() }).toEqual({ method: m.name, beta: before });
        const denied = core.audit.query({ outcome: "denied" }).filter((r) => r.seq > seq);
        expect(denied.map((r) => ({ action: r.action, target: r.target?.id, by: r.tenant }))).toEqual([
          { action: m.name, target: "ghost", by: "alpha" },
          { action: m.name, target: "beta", by: "alpha" },
        ]);
      }
      for (const m of registry.list()) {
        if (m.mutates) continue;
        const r = await ca.call(m.name, withIds(m.example, idsA));
        expect({ method: m.name, error: r.error ?? null }).toEqual({ method: m.name, error: null });
        const text = JSON.stringify(r);
        expect(text).not.toContain("beta");
        expect(text).not.toContain("secret");
      }
      // B's events, on session keys A subscribes to as well: A hears none; B hears all of them.
      const ca2 = await WsClient.open(url, { token: a });
      await ca2.call("sessions.subscribe", { sessionKeys: ["main"] });
      for (const method of TENANT_EVENT_METHODS) {
        core.events.publish(scope("beta"), { method, params: { sessionKey: "main", runId: "run_b", jobId: "beta-secret-job", action: "finished", note: "beta-secret" }, sessionKey: "main", runId: "run_b" });
        core.events.publish(scope("beta"), { method, params: { note: "beta-secret" } });
      }
      core.events.publish(scope("alpha"), { method: "sessions.changed", params: { sessionKey: "main", marker: true }, sessionKey: "main" });
      await ca.next((x) => x.params?.marker === true, "A's own event");
      await ca2.next((x) => x.params?.marker === true, "A's own event");
      await cb.next((x) => x.method === TENANT_EVENT_METHODS.at(-1) && x.params.sessionKey === undefined, "B's last event");
      expect(cb.notifications()).toHaveLength(TENANT_EVENT_METHODS.length * 2);
      for (const c of [ca, ca2]) {
        expect(c.notifications().map((x) => x.method)).toEqual(["sessions.changed"]);
        expect(JSON.stringify(c.messages)).not.toContain("beta-secret");
      }
      expect(core.tokens.verify(b).ok).toBe(true);
      for (const c of [ca, ca2, cb]) c.close();
      await app.stop(true);
      core.close();
    });

    test("protocol v4 (GET /): every method answers A with nothing of B's and leaves B unchanged; B's resources by id are not found as none; A never hears B's events", async () => {
      const { core, a, b, idsB, app, snapshot } = await isolationWorld(opts);
      app.listen({ port: 0, hostname: "127.0.0.1" });
      const world = { gw: { url: `http://127.0.0.1:${app.server!.port}` } } as Parameters<typeof V4Client.open>[0];
      const connect = async (token: string) => {
        const c = await V4Client.open(world);
        await c.challenge();
        await c.connect(cliParams(token, { scopes: ["operator.read", "operator.write"] }));
        return c;
      };
      const ca = await connect(a);
      const cb = await connect(b);
      const methods = core.openclawProtocol.methodNames;
      expect(methods.length).toBeGreaterThanOrEqual(5);
      if (methods.includes("sessions.subscribe")) await ca.request("sessions.subscribe", {});
      // Each method with no params, and with the params upstream's clients name things by: what is
      // named is always the caller's own (B's session of the same key holds B's secret chat).
      const shapes = [{}, { sessionKey: "agent:main:main", key: "agent:main:main", agentId: "main", limit: 50 }, { sessionKey: "main", key: "main" }];
      for (const m of methods) {
        for (const params of shapes) {
          const before = snapshot();
          const r = await ca.request(m, params);
          const text = JSON.stringify(r);
          expect({ method: m, leaks: ["beta", "secret", b.slice(0, 14)].filter((x) => text.includes(x)) }).toEqual({ method: m, leaks: [] });
          expect({ method: m, beta: snapshot() }).toEqual({ method: m, beta: before });
        }
        // B's resources named by id (a cron job: get, update, run, remove, its runs), as upstream's
        // clients name them: answered as an id that names nothing, word for word; B unchanged.
        for (const [placeholder, bId] of Object.entries(idsB)) {
          const ghost = crypto.randomUUID();
          const shape = (id: string) => ({ id, jobId: id, patch: { enabled: false, name: "renamed by alpha" }, mode: "force", scope: "job" });
          const before = snapshot();
          const onB = await ca.request(m, shape(bId));
          const onGhost = await ca.request(m, shape(ghost));
          expect({ method: m, placeholder, beta: snapshot() }).toEqual({ method: m, placeholder, beta: before });
          expect({ method: m, leaks: ["beta", "secret"].filter((x) => JSON.stringify(onB).includes(x)) }).toEqual({ method: m, leaks: [] });
          if (!onB.ok || !onGhost.ok) expect({ method: m, error: JSON.stringify(onB.error).replaceAll(bId, "ID") }).toEqual({ method: m, error: JSON.stringify(onGhost.error).replaceAll(ghost, "ID") });
        }
      }
      for (const method of TENANT_EVENT_METHODS) {
        core.events.publish(scope("beta"), { method, params: { sessionKey: "main", runId: "run_b", jobId: "beta-secret-job", action: "finished", note: "beta-secret" }, sessionKey: "main", runId: "run_b" });
        core.events.publish(scope("beta"), { method, params: { note: "beta-secret" } });
      }
      // The bus delivers synchronously and a connection's frames stay in order: whatever A was to be
      // told of B's events would have arrived before this answer.
      await ca.request("health", {});
      expect(JSON.stringify(ca.messages)).not.toContain("beta-secret");
      expect(core.tokens.verify(b).ok).toBe(true);
      for (const c of [ca, cb]) c.close();
      await app.stop(true);
      core.close();
    });

    test("control plane: every /admin/v1 route refuses tenant tokens (A's or B's), changes nothing, audits the attempt", async () => {
      const { core, a, b, app, call, snapshot } = await isolationWorld(opts);
      const routes = app.routes.filter((r) => surfaceOfRoute(r.path) === "admin");
      expect(routes.length).toBeGreaterThanOrEqual(13);
      for (const r of routes) {
        const p = r.path.replace(":id", "beta");
        for (const token of [a, b]) {
          const before = snapshot();
          const seq = core.audit.head().seq;
          const res = await call(r.method, p, { token, body: r.method === "GET" || r.method === "DELETE" ? undefined : { id: "evil", displayName: "x", grace: "0", tokensPerDay: 1 } });
          expect({ route: `${r.method} ${p}`, status: res.status }).toEqual({ route: `${r.method} ${p}`, status: 401 });
          expect(snapshot()).toEqual(before);
          const denied = core.audit.query({ action: "admin.access" }).filter((x) => x.seq > seq);
          expect(denied).toHaveLength(1);
          expect(denied[0]!.target?.id).toBe(`${r.method} ${p}`);
        }
      }
      expect(core.tenants.exists("evil")).toBe(false);
      core.close();
    });

    test("/mcp: every tool A's MCP client lists, called with B's paths and names, returns nothing of B's and leaves B unchanged", async () => {
      const { core, a, b, call, snapshot } = await isolationWorld(opts);
      const mcp = async (body: unknown) => (await call("POST", "/mcp", { token: a, body, headers: { accept: "application/json, text/event-stream" } })).json;
      const listed = (await mcp({ jsonrpc: "2.0", id: 1, method: "tools/list" })).result.tools as { name: string; inputSchema: { properties?: Record<string, { type?: string }>; required?: string[] } }[];
      expect(listed.map((t) => t.name)).toEqual(expect.arrayContaining(["file_read", "exec", "agent_ask"]));
      const betaNotes = path.join(core.tenants.dir(scope("beta")), "workspace", "notes.txt");
      const hostile = ["notes.txt", "../beta/workspace/notes.txt", "../../beta/workspace/notes.txt", betaNotes, `cat ${betaNotes}; cat ../beta/workspace/notes.txt`, "beta", "main"];
      const before = snapshot();
      for (const t of listed) {
        for (const value of hostile) {
          const args: Record<string, unknown> = {};
          for (const [k, prop] of Object.entries(t.inputSchema.properties ?? {})) if (prop.type === "string") args[k] = value;
          if (t.name === "exec") args.command = `cat ${betaNotes} ../beta/workspace/notes.txt ../../beta/workspace/notes.txt 2>&1`;
          const r = await mcp({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: t.name, arguments: args } });
          const text = JSON.stringify(r);
          expect({ tool: t.name, value, leaked: text.includes("beta's secret") || text.includes(b.slice(0, 14)) }).toEqual({ tool: t.name, value, leaked: false });
        }
      }
      expect(snapshot()).toEqual(before);
      // The calls were real (file_write above wrote A's own notes.txt) and A's files are A's to read.
      const own = await mcp({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "file_read", arguments: { path: "notes.txt" } } });
      expect(own.result.content[0].text).toBe("notes.txt");
      core.close();
    });
  });
}
