// The skills and plugins surfaces: tenant RPC (skills.* / plugins.*), the admin API
// (/admin/v1/tenants/:id/skills|plugins…) and the CLI (openclaw skills|plugins …), on the real
// service and a real state.db; each change audited; another tenant's package the same NOT_FOUND as
// none; packages carried by backup and restore and deleted with their tenant.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { tenantDir } from "../../../src/lib/tenant-dirs.ts";
import { cli } from "../../helpers/cli.ts";
import { adminKey, createTenant, makeHome, operatorCtx, scope, testApp, testCore } from "../../helpers/core.ts";
import { craftTar, goodPlugin, goodSkill, skillMd } from "../../helpers/skill-packages.ts";

const b64 = (b: Buffer) => b.toString("base64");

function world() {
  const core = testCore();
  const key = adminKey(core);
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  return { core, key, a, b, ...testApp(core) };
}

const audits = (core: any, action: string) => core.audit.query({ action }).filter((r: any) => r.action === action);

describe("skills and plugins over RPC", () => {
  test("install, list, disable, enable, remove: the caller's own, each change audited under its token", async () => {
    const { core, a, b, rpc } = world();
    const inst = await rpc(a, "skills.install", { archive: b64(await goodSkill("notes")) });
    expect(inst.error).toBeUndefined();
    expect(inst.result).toMatchObject({ kind: "skill", name: "notes", source: "tenant", status: "ok", enabled: true, description: "The notes skill." });
    expect(inst.result.sha256).toMatch(/^[0-9a-f]{64}$/);
    const plug = await rpc(a, "plugins.install", { archive: b64(await goodPlugin("echoer")), name: "echoer" });
    expect(plug.result).toMatchObject({ kind: "plugin", name: "echoer", tools: ["echo"] });

    expect((await rpc(a, "skills.list", {})).result.items.map((p: any) => p.name)).toEqual(["notes"]);
    expect((await rpc(b, "skills.list", {})).result.items).toEqual([]);
    expect((await rpc(b, "plugins.list", {})).result.items).toEqual([]);

    const off = await rpc(a, "skills.disable", { name: "notes" });
    expect(off.result).toMatchObject({ name: "notes", enabled: false });
    expect(core.skills.active(scope("alpha"), "skill")).toEqual([]);
    expect((await rpc(a, "skills.enable", { name: "notes" })).result.enabled).toBe(true);

    // B names A's package: the same NOT_FOUND as a name nobody has; A's is untouched.
    for (const m of ["skills.enable", "skills.disable", "skills.remove"]) {
      const onA = await rpc(b, m, { name: "notes" });
      const none = await rpc(b, m, { name: "nothing-here" });
      expect(onA.error.data.code).toBe("NOT_FOUND");
      expect(onA.error.message).toBe(none.error.message);
    }
    expect(core.skills.active(scope("alpha"), "skill").map((p: any) => p.name)).toEqual(["notes"]);

    expect((await rpc(a, "skills.remove", { name: "notes" })).result).toEqual({ kind: "skill", name: "notes", removed: true });
    expect((await rpc(a, "skills.list", {})).result.items).toEqual([]);
    await Bun.sleep(50);
    expect(fs.readdirSync(path.join(tenantDir(core.home, "alpha"), "skills"))).toEqual([]);

    for (const action of ["skill.install", "skill.disable", "skill.enable", "skill.remove", "plugin.install"]) {
      const recs = audits(core, action);
      expect({ action, n: recs.length }).toEqual({ action, n: 1 });
      expect(recs[0]).toMatchObject({ tenant: "alpha", actor: { kind: "tenant" }, target: { id: action.startsWith("plugin") ? "echoer" : "notes" } });
    }
    core.close();
  });

  test("bad input is a clear error and changes nothing: not base64, a wrong name, a full tenant", async () => {
    const { core, a, rpc } = world();
    const notB64 = await rpc(a, "skills.install", { archive: "!!! not base64 !!!" });
    expect(notB64.error.data.code).toBe("INVALID_PARAMS");
    expect(notB64.error.message).toMatch(/archive: is not base64/);
    const badName = await rpc(a, "skills.enable", { name: "../etc" });
    expect(badName.error.data.code).toBe("INVALID_PARAMS");
    expect((await rpc(a, "skills.list", {})).result.items).toEqual([]);
    core.close();

    const small = testCore({ config: { gateway: { skills: { maxPackagesPerTenant: 1 } } } });
    createTenant(small, "alpha");
    await small.skills.install(scope("alpha"), "skill", { archive: await goodSkill("one") }, operatorCtx);
    const full = await small.skills.install(scope("alpha"), "skill", { archive: await goodSkill("two") }, operatorCtx).catch((e: any) => e);
    expect(full.code).toBe("QUOTA_EXCEEDED");
    expect(full.message).toMatch(/maxPackagesPerTenant/);
    expect(small.skills.list(scope("alpha"), "skill").map((p: any) => p.name)).toEqual(["one"]);
    small.close();
  });

  test("the operator's skills (<home>/skills/) are listed to every tenant as source operator; a tenant may disable but not remove one", async () => {
    const { core, a, b, rpc } = world();
    fs.mkdirSync(path.join(core.home, "skills", "house-style"), { recursive: true });
    fs.writeFileSync(path.join(core.home, "skills", "house-style", "SKILL.md"), skillMd("house-style", "How we write."));
    for (const t of [a, b]) expect((await rpc(t, "skills.list", {})).result.items).toMatchObject([{ name: "house-style", source: "operator", enabled: true }]);
    expect((await rpc(a, "skills.disable", { name: "house-style" })).result.enabled).toBe(false);
    expect((await rpc(b, "skills.list", {})).result.items[0].enabled).toBe(true);
    const rm = await rpc(a, "skills.remove", { name: "house-style" });
    expect(rm.error.data.code).toBe("FORBIDDEN");
    expect(fs.existsSync(path.join(core.home, "skills", "house-style", "SKILL.md"))).toBe(true);
    core.close();
  });
});

describe("the admin API and the CLI", () => {
  test("/admin/v1/tenants/:id/skills|plugins: list, install, disable, enable, remove, audited under the admin", async () => {
    const { core, key, call } = world();
    const inst = await call("POST", "/admin/v1/tenants/alpha/plugins", { token: key, body: { archive: b64(await goodPlugin("echoer")) } });
    expect(inst.status).toBe(201);
    expect(inst.json).toMatchObject({ name: "echoer", status: "ok" });
    expect((await call("GET", "/admin/v1/tenants/alpha/plugins", { token: key })).json.items.map((p: any) => p.name)).toEqual(["echoer"]);
    expect((await call("POST", "/admin/v1/tenants/alpha/plugins/echoer/disable", { token: key })).json.enabled).toBe(false);
    expect((await call("POST", "/admin/v1/tenants/alpha/plugins/echoer/enable", { token: key })).json.enabled).toBe(true);
    expect((await call("GET", "/admin/v1/tenants/beta/plugins", { token: key })).json.items).toEqual([]);
    expect((await call("DELETE", "/admin/v1/tenants/beta/plugins/echoer", { token: key })).status).toBe(404);
    expect((await call("DELETE", "/admin/v1/tenants/ghost/plugins/echoer", { token: key })).status).toBe(404);
    expect((await call("DELETE", "/admin/v1/tenants/alpha/plugins/echoer", { token: key })).json).toEqual({ kind: "plugin", name: "echoer", removed: true });
    expect(audits(core, "plugin.install")[0]).toMatchObject({ actor: { kind: "admin" }, tenant: "alpha" });
    expect(audits(core, "plugin.remove")).toHaveLength(1);
    const hostile = await call("POST", "/admin/v1/tenants/alpha/skills", { token: key, body: { archive: b64(await craftTar([{ name: "SKILL.md", data: skillMd("x") }, { name: "../../evil", data: "x" }])) } });
    expect(hostile.status).toBe(400);
    expect(hostile.json.error.message).toMatch(/contains "\.\."; nothing was installed/);
    core.close();
  });

  test("openclaw skills install | list | disable | remove --tenant", async () => {
    const home = makeHome();
    const core = testCore({ home });
    createTenant(core, "alpha");
    core.close();
    const file = path.join(makeHome(), "notes.tar.gz");
    fs.writeFileSync(file, await goodSkill("notes"));
    const inst = await cli(home, ["skills", "install", file, "--tenant", "alpha"]);
    expect(inst.code).toBe(0);
    expect(inst.out).toContain("✓ skill installed · notes");
    expect((await cli(home, ["skills", "list", "--tenant", "alpha", "--json"])).out).toContain('"name": "notes"');
    expect((await cli(home, ["skills", "disable", "notes", "--tenant", "alpha"])).out).toContain("disabled");
    const missing = await cli(home, ["skills", "remove", "nope", "--tenant", "alpha"]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain("skill not found");
    expect((await cli(home, ["skills", "remove", "notes", "--tenant", "alpha"])).code).toBe(0);
    expect((await cli(home, ["plugins", "list", "--tenant", "alpha"])).out).toContain("No plugins for alpha");
    const again = testCore({ home });
    expect(again.audit.query({ action: "skill.install" }).filter((r: any) => r.action === "skill.install")[0]).toMatchObject({ actor: { kind: "operator" } });
    again.close();
  });
});

describe("tenant data: backup, restore, delete", () => {
  test("skills, plugins and their state are carried by a backup and a restore, and go with the tenant", async () => {
    const core = testCore();
    createTenant(core, "alpha");
    createTenant(core, "beta");
    const a = scope("alpha");
    await core.skills.install(a, "skill", { archive: await goodSkill("notes") }, operatorCtx);
    await core.skills.install(a, "plugin", { archive: await goodPlugin("echoer") }, operatorCtx);
    await core.skills.setEnabled(a, "plugin", "echoer", false, operatorCtx);
    await core.skills.install(scope("beta"), "skill", { archive: await goodSkill("betas") }, operatorCtx);
    const archive = path.join(makeHome(), "alpha.tar.zst");
    await core.backups.backup(a, archive, operatorCtx);

    core.tenants.remove(a, operatorCtx);
    expect(fs.existsSync(tenantDir(core.home, "alpha"))).toBe(false);
    expect(core.handle.sqlite.query("SELECT count(*) AS n FROM ext_packages WHERE tenant_id = 'alpha'").get()).toEqual({ n: 0 });
    expect(core.skills.list(scope("beta"), "skill").map((p: any) => p.name)).toEqual(["betas"]);

    await core.backups.restore(archive, operatorCtx);
    expect(core.skills.list(a, "skill")).toMatchObject([{ name: "notes", status: "ok", enabled: true }]);
    expect(core.skills.list(a, "plugin")).toMatchObject([{ name: "echoer", status: "ok", enabled: false }]);
    await core.backups.restore(archive, operatorCtx, { as: "alpha-copy" });
    expect(core.skills.list(scope("alpha-copy"), "plugin")).toMatchObject([{ name: "echoer", enabled: false }]);
    core.close();
  });
});
