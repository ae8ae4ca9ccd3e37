// The tenant data of every module in the list, gathered once: the tables and directories (static,
// known before any module is built) and the hooks, bound to each module's services once all are.
import { checkTenantTables } from "../db/tenant-rows.ts";
import type { TenantScope } from "../edge/tenant-scope.ts";
import type { AnyModule, TenantDataRegistry, TenantStop } from "../modules/module.ts";

export interface BoundTenantData extends TenantDataRegistry {
  /** Hands the registry each module's services; hooks are refused before (a module must not call them while it is being built). */
  bind(servicesOf: (m: AnyModule) => object): void;
}

export function collectTenantData(modules: readonly AnyModule[]): BoundTenantData {
  const tables = modules.flatMap((m) => m.tenantData?.tables ?? []);
  checkTenantTables(tables);
  const dirs = modules.flatMap((m) => m.tenantData?.dirs ?? []);
  const seen = new Set<string>();
  for (const d of dirs) {
    if (!/^[a-z][a-z0-9-]*$/.test(d) || d === "openclaw.json") throw new Error(`tenant directory ${JSON.stringify(d)}: a plain lowercase name is expected`);
    if (seen.has(d)) throw new Error(`tenant directory ${d} is declared twice`);
    seen.add(d);
  }
  let servicesOf: ((m: AnyModule) => object) | null = null;
  const run = (hook: "beforeBackup" | "onDelete" | "onRestore", tenant: TenantScope) => {
    if (!servicesOf) throw new Error("tenant data hooks run only once every module is built");
    for (const m of modules) m.tenantData?.[hook]?.(servicesOf(m), tenant);
  };
  return {
    tables,
    dirs,
    beforeBackup: (tenant) => run("beforeBackup", tenant),
    deleted: (tenant) => run("onDelete", tenant),
    restored: (tenant) => run("onRestore", tenant),
    stopped(stop: TenantStop) {
      if (!servicesOf) throw new Error("tenant data hooks run only once every module is built");
      const pending: Promise<unknown>[] = [];
      for (const m of modules) {
        const r = m.tenantData?.onStop?.(servicesOf(m), stop);
        if (r) pending.push(r);
      }
      return pending.length === 0 ? null : Promise.allSettled(pending).then(() => undefined);
    },
    bind(fn) {
      servicesOf = fn;
    },
  };
}
