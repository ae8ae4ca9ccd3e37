// A feature that exists only in this file: a module with a table (made by its own DDL: migrations are
// compiled into the binary), a tenant RPC method, a tenant directory and a WebSocket route. Passed to
// createCore, and touching no other file, it is backed up and restored with its tenant, deleted with
// it, told when its tenant stops, attacked by the generated isolation suite, and its WebSocket route
// is behind tenant tokens.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Database } from "bun:sqlite";
import { tenantOf } from "../../src/edge/request-info.ts";
import { defineTenantMethod } from "../../src/edge/rpc.ts";
import type { TenantScope } from "../../src/edge/tenant-scope.ts";
import { startGateway } from "../../src/http/gateway.ts";
import { tenantDir } from "../../src/lib/tenant-dirs.ts";
import { defineModule } from "../../src/modules/module.ts";
import { tenantsModule } from "../../src/modules/tenants/tenants.module.ts";
import { cli } from "../helpers/cli.ts";
import { createTenant, makeHome, operatorCtx, scope, testApp, testCore } from "../helpers/core.ts";
import { describeIsolation } from "../helpers/isolation.ts";

/** What the toy's hooks were told, to check they ran. */
const told: string[] = [];

function createToy(sqlite: Database, home: string) {
  sqlite.exec("CREATE TABLE IF NOT EXISTS toy_notes (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, note TEXT NOT NULL)");
  const dir = (tenant: TenantScope) => path.join(tenantDir(home, tenant.tenantId), "toy");
  return {
    add(tenant: TenantScope, note: string) {
      sqlite.query("INSERT INTO toy_notes (tenant_id, note) VALUES (?1, ?2)").run(tenant.tenantId, note);
      fs.appendFileSync(path.join(dir(tenant), "notes.txt"), `${note}\n`);
    },
    notes: (tenant: TenantScope) => (sqlite.query("SELECT note FROM toy_notes WHERE tenant_id = ?1 ORDER BY id").all(tenant.tenantId) as { note: string }[]).map((r) => r.note),
    file: (tenant: TenantScope) => fs.readFileSync(path.join(dir(tenant), "notes.txt"), "utf8"),
  };
}

const toyModule = defineModule({
  name: "toy",
  needs: [tenantsModule],
  create: (platform) => ({ toy: createToy(platform.handle.sqlite, platform.home) }),
}).with({
  rpc: ({ toy }) => [
    defineTenantMethod({
      name: "toy.notes",
      summary: "The calling tenant's notes (adds one when `note` is given).",
      params: { note: T.Optional(T.String({ maxLength: 200 })) },
      result: T.Object({ notes: T.Array(T.String()) }),
      mutates: true,
      example: { note: "hi" },
      handler: (tenant, p) => {
        if (p.note) toy.add(tenant, p.note);
        return { notes: toy.notes(tenant) };
      },
    }),
  ],
  ws: ({ toy }) =>
    new Elysia().ws("/toy", {
      open(ws) {
        const tenant = tenantOf((ws.data as { request: Request }).request);
        ws.send(JSON.stringify({ tenant: tenant.tenantId, notes: toy.notes(tenant) }));
      },
    }),
  tenantData: {
    tables: [{ table: "toy_notes", tenantColumn: "tenant_id", restoreRow: (row) => void delete row.id }],
    dirs: ["toy"],
    onDelete: (_svc, tenant) => void told.push(`deleted ${tenant.tenantId}`),
    onRestore: (_svc, tenant) => void told.push(`restored ${tenant.tenantId}`),
    onStop: (_svc, stop) => void told.push(`stopped ${stop.tenantId}: ${stop.reason}`),
  },
});

const count = (core: ReturnType<typeof testCore>, tenantId: string) => (core.handle.sqlite.query("SELECT count(*) AS n FROM toy_notes WHERE tenant_id = ?1").get(tenantId) as { n: number }).n;

describe("a module defined in a test", () => {
  test("its directory is made with the tenant; its RPC method acts for the caller only", async () => {
    const core = testCore({ extraModules: [toyModule] });
    const token = createTenant(core, "acme");
    expect(fs.statSync(path.join(core.tenants.dir(scope("acme")), "toy")).isDirectory()).toBe(true);
    expect(core.tenantData.dirs).toContain("toy");
    const { rpc, registry } = testApp(core);
    expect(registry.get("toy.notes")?.tenantScoped).toBe(true);
    expect((await rpc(token, "toy.notes", { note: "first" })).result).toEqual({ notes: ["first"] });
    expect((await rpc(token, "toy.notes", { note: "x", tenantId: "other" })).error.data.code).toBe("NOT_FOUND");
    core.close();
  });

  test("backed up and restored with its tenant (rows and directory), deleted with it, and told of each", async () => {
    const core = testCore({ extraModules: [toyModule] });
    createTenant(core, "acme");
    createTenant(core, "other");
    const { toy } = core.servicesOf(toyModule);
    toy.add(scope("acme"), "keep me");
    toy.add(scope("acme"), "and me");
    toy.add(scope("other"), "not acme's");
    const archive = path.join(makeHome(), "acme.tar.zst");
    await core.backups.backup(scope("acme"), archive, operatorCtx);

    told.length = 0;
    core.tenants.suspend(scope("acme"), operatorCtx);
    core.tenants.resume(scope("acme"), operatorCtx);
    expect(told).toEqual(["stopped acme: suspended"]);
    core.tenants.remove(scope("acme"), operatorCtx);
    expect(count(core, "acme")).toBe(0);
    expect(fs.existsSync(tenantDir(core.home, "acme"))).toBe(false);
    expect(count(core, "other")).toBe(1);
    expect(told).toEqual(["stopped acme: suspended", "deleted acme", "stopped acme: deleted"]);

    told.length = 0;
    const r = await core.backups.restore(archive, operatorCtx);
    expect(r.rows.toy_notes).toBe(2);
    expect(toy.notes(scope("acme"))).toEqual(["keep me", "and me"]);
    expect(toy.file(scope("acme"))).toBe("keep me\nand me\n");
    expect(told).toEqual(["restored acme"]);
    // Over the tenant (--force): the replaced incarnation's work ends.
    told.length = 0;
    await core.backups.restore(archive, operatorCtx, { force: true });
    expect(told).toEqual(["restored acme", "stopped acme: replaced"]);

    // A copy under another id carries them too, under its own id.
    await core.backups.restore(archive, operatorCtx, { as: "acme-copy" });
    expect(toy.notes(scope("acme-copy"))).toEqual(["keep me", "and me"]);
    expect(toy.notes(scope("other"))).toEqual(["not acme's"]);
    core.close();
  });

  test("the CLI's delete deletes them too (same code path as the admin API)", async () => {
    const home = makeHome();
    const core = testCore({ home, extraModules: [toyModule] });
    createTenant(core, "acme");
    core.servicesOf(toyModule).toy.add(scope("acme"), "bye");
    core.close();
    expect((await cli(home, ["tenants", "delete", "acme", "--confirm"], { extraModules: [toyModule] })).code).toBe(0);
    const again = testCore({ home, extraModules: [toyModule] });
    expect(count(again, "acme")).toBe(0);
    again.close();
  });

  test("its WebSocket route is mounted under /ws behind tenant tokens, and sees the caller's scope", async () => {
    const core = testCore({ config: { gateway: { port: 0 } }, extraModules: [toyModule] });
    const token = createTenant(core, "acme");
    core.servicesOf(toyModule).toy.add(scope("acme"), "over the socket");
    const gw = startGateway(core);
    try {
      const url = `${gw.url.replace("http", "ws")}/ws/toy`;
      const refused = await fetch(`${gw.url}/ws/toy`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
      expect(refused.status).toBe(401);
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as unknown as string[]);
      const first = await new Promise<string>((resolve, reject) => {
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onerror = () => reject(new Error("websocket failed"));
        setTimeout(() => reject(new Error("no message")), 5000);
      });
      ws.close();
      expect(JSON.parse(first)).toEqual({ tenant: "acme", notes: ["over the socket"] });
    } finally {
      await gw.stop();
    }
  });
});

// The generated isolation suite, over the standard modules and this one: B's notes are watched, and
// toy.notes is attacked with A's token naming B.
describeIsolation("isolation with the toy module", {
  extraModules: [toyModule],
  seed: (core) => {
    const { toy } = core.servicesOf(toyModule);
    toy.add(scope("beta"), "beta's secret toy note");
    toy.add(scope("alpha"), "alpha's note");
  },
});
