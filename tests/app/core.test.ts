// The composition root: modules are built in list order from what they declare, and what a module
// keeps per tenant cannot go undeclared (it would then be missed by backups and by deletes).
import { describe, expect, test } from "bun:test";
import { MODULES } from "../../src/app/modules.ts";
import { defineModule } from "../../src/modules/module.ts";
import { tenantsModule } from "../../src/modules/tenants/tenants.module.ts";
import { testCore } from "../helpers/core.ts";

describe("createCore", () => {
  test("every table with a tenant column is declared by a module (backed up, restored and deleted as declared)", () => {
    const core = testCore();
    const sqlite = core.handle.sqlite;
    const tables = (sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((t) => t.name);
    const withTenant = tables.filter((t) => (sqlite.query(`PRAGMA table_info(${t})`).all() as { name: string }[]).some((c) => c.name === "tenant_id"));
    const declared = new Map(core.tenantData.tables.map((t) => [t.table, t.tenantColumn]));
    expect(withTenant.filter((t) => declared.get(t) !== "tenant_id")).toEqual([]);
    expect(declared.get("tenants")).toBe("id");
    expect(core.tenantData.tables.filter((t) => t.root).map((t) => t.table)).toEqual(["tenants"]);
    core.close();
  });

  test("a module whose needs come after it is refused, naming both", () => {
    const late = defineModule({ name: "late", create: () => ({ late: 1 }) });
    const early = defineModule({ name: "early", needs: [late], create: () => ({ early: 2 }) });
    expect(() => testCore({ extraModules: [early, late] })).toThrow("module early needs late, which is not before it in the module list");
  });

  test("two modules may not offer a service of the same name", () => {
    const twin = defineModule({ name: "twin", needs: [tenantsModule], create: () => ({ tenants: null }) });
    expect(() => testCore({ extraModules: [twin] })).toThrow('module twin offers a service "tenants" that another module already offers');
  });

  test("a tenant table declared twice, or a second root, is refused at start", () => {
    const again = defineModule({ name: "again", create: () => ({}) }).with({ tenantData: { tables: [{ table: "tenant_tokens", tenantColumn: "tenant_id" }] } });
    expect(() => testCore({ extraModules: [again] })).toThrow("tenant table tenant_tokens is declared twice");
    const root = defineModule({ name: "root", create: () => ({}) }).with({ tenantData: { tables: [{ table: "other_root", tenantColumn: "id", root: true }] } });
    expect(() => testCore({ extraModules: [root] })).toThrow("exactly one tenant table is the root");
  });

  test("the list names each module once, and every module's needs come before it", () => {
    const seen = new Set<string>();
    for (const m of MODULES) {
      for (const n of m.needs ?? []) expect({ module: m.name, needs: n.name, before: seen.has(n.name) }).toEqual({ module: m.name, needs: n.name, before: true });
      expect(seen.has(m.name)).toBe(false);
      seen.add(m.name);
    }
  });
});
