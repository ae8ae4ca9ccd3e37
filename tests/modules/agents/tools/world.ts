// A tool test world: a real test core (real files service, real sandbox), two tenants, a small
// in-test ToolSessions, and a ToolContext builder the tests call tools with directly.
import fs from "node:fs";
import path from "node:path";
import type { Core } from "../../../../src/app/core.ts";
import { AppError } from "../../../../src/core/errors.ts";
import type { TenantScope } from "../../../../src/edge/tenant-scope.ts";
import { builtinTool } from "../../../../src/modules/agents/tools/registry.ts";
import type { ToolContext, ToolResult, ToolSessions, ToolSessionSummary } from "../../../../src/modules/agents/tools/tool.ts";
import { sandboxIdentity } from "../../../../src/modules/sandbox/host.ts";
import { createTenant, scope, testCore } from "../../../helpers/core.ts";

/** Sessions kept in memory per tenant id; the lookup is by the scope's tenant only. */
export function memorySessions(): ToolSessions & { add(tenantId: string, s: ToolSessionSummary, entries: Record<string, unknown>[]): void } {
  const byTenant = new Map<string, Map<string, { summary: ToolSessionSummary; entries: Record<string, unknown>[] }>>();
  const page = <T>(items: T[], limit: number, cursor?: string) => {
    const start = cursor ? Number(cursor) : 0;
    const next = start + limit < items.length ? String(start + limit) : null;
    return { items: items.slice(start, start + limit), next };
  };
  return {
    add(tenantId, s, entries) {
      const m = byTenant.get(tenantId) ?? new Map();
      m.set(s.key, { summary: s, entries });
      byTenant.set(tenantId, m);
    },
    list(tenant: TenantScope, opts) {
      const all = [...(byTenant.get(tenant.tenantId)?.values() ?? [])].map((x) => x.summary).sort((a, b) => b.updatedAt - a.updatedAt);
      const p = page(all, opts.limit, opts.cursor);
      return { sessions: p.items, nextCursor: p.next };
    },
    history(tenant: TenantScope, key, opts) {
      const s = byTenant.get(tenant.tenantId)?.get(key);
      if (!s) throw new AppError("NOT_FOUND", `session "${key}" not found`);
      const p = page(s.entries, opts.limit, opts.cursor);
      return { entries: p.items, nextCursor: p.next };
    },
  };
}

export interface ToolWorld {
  core: Core;
  sessions: ReturnType<typeof memorySessions>;
  workspace(tenant: string): string;
  ctx(tenant: string, over?: Partial<ToolContext>): ToolContext;
  call(name: string, args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult>;
}

export function toolWorld(config: Record<string, unknown> = {}): ToolWorld {
  const core = testCore({ config });
  for (const t of ["alpha", "beta"]) createTenant(core, t);
  const sessions = memorySessions();
  const workspace = (t: string) => {
    const ws = path.join(core.tenants.dir(scope(t)), "workspace");
    fs.mkdirSync(ws, { recursive: true, mode: 0o700 });
    const id = sandboxIdentity();
    fs.chownSync(ws, id.uid, id.gid);
    return ws;
  };
  return {
    core,
    sessions,
    workspace,
    ctx: (tenant, over = {}) => ({
      tenant: scope(tenant),
      agentId: "main",
      sessionKey: "s1",
      runId: "run1",
      signal: new AbortController().signal,
      secondsLeft: 60,
      maxOutputBytes: 16_384,
      services: { files: core.files, sandbox: core.sandbox, sessions },
      ...over,
    }),
    async call(name, args, ctx) {
      const tool = builtinTool(name);
      if (!tool) throw new Error(`no tool ${name}`);
      return tool.run(args, ctx);
    },
  };
}
