// Test cores and an in-process HTTP caller: a fresh home per core, real SQLite, real files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readEnvironment } from "../../src/config/env.ts";
import type { Clock } from "../../src/core/clock.ts";
import { createCore, type Core, type CoreOptions } from "../../src/app/core.ts";
import { silentLogger, type Logger } from "../../src/core/logger.ts";
import { createConsola } from "consola";
import { createApp } from "../../src/http/server.ts";
import type { AdminContext } from "../../src/edge/tenant-scope.ts";
import { mintTenantScope, type TenantScope } from "../../src/edge/tenant-scope.ts";
import { rotateAdminKey } from "../../src/modules/admin-key/admin-key.service.ts";

export function makeHome(): string {
  const base = process.env.OPENCLAW_TEST_ROOT ?? os.tmpdir();
  return fs.mkdtempSync(path.join(base, "home-"));
}

export interface TestCoreOptions {
  home?: string;
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  clock?: Clock;
  timers?: CoreOptions["timers"];
  log?: Logger;
  /** Modules built after the standard list (a feature defined in a test). */
  extraModules?: CoreOptions["extraModules"];
}

export function testCore(opts: TestCoreOptions = {}): Core {
  const home = opts.home ?? makeHome();
  if (opts.config) fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(opts.config, null, 2), { mode: 0o600 });
  // The gateway inherits the PATH it is started with (where it finds bwrap, docker, setpriv); nothing else.
  return createCore({ home, env: readEnvironment({ PATH: process.env.PATH, ...opts.env }), clock: opts.clock, timers: opts.timers, log: opts.log ?? silentLogger(), extraModules: opts.extraModules });
}

/** The scope of a tenant, as the edge mints it for a verified token (tests act as the tenant or the operator directly). */
export function scope(tenantId: string): TenantScope {
  return mintTenantScope(tenantId);
}

/** A logger that keeps every line as an object ({tag, msg, ...fields}), for tests that read the log. */
export function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createConsola({
    level: 3,
    reporters: [
      {
        log: (o) => {
          const [msg, ...rest] = o.args;
          lines.push({ tag: o.tag, level: o.type, msg, ...Object.assign({}, ...rest.filter((x) => x && typeof x === "object")) });
        },
      },
    ],
  });
  return { log, lines };
}

/** The operator, as the CLI's context is: it may name any tenant. */
export const operatorCtx: AdminContext = { actor: { kind: "operator", id: "test" }, requestId: "req_test", tenant: (id) => mintTenantScope(id) };

export function createTenant(core: Core, id: string, extra: { displayName?: string } = {}): string {
  return core.tenants.create({ id, ...extra }, operatorCtx).token;
}

export function adminKey(core: Core): string {
  const { key } = rotateAdminKey({ configFile: core.configFile, audit: core.audit }, operatorCtx);
  core.reloadConfig();
  return key;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  ip?: string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export function testApp(core: Core) {
  const built = createApp(core, { peerIp: (req) => req.headers.get("x-test-peer") ?? "127.0.0.1" });
  async function call(method: string, urlPath: string, opts: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.ip) headers["x-test-peer"] = opts.ip;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await built.app.handle(new Request(`http://localhost${urlPath}`, { method, headers, body }));
    const text = await res.text();
    let json: any = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }
  async function rpc(token: string, method: string, params?: unknown, opts: CallOptions = {}) {
    const r = await call("POST", "/rpc", { ...opts, token, body: { jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) } });
    return { ...r, result: r.json?.result, error: r.json?.error };
  }
  return { ...built, call, rpc };
}

/** Every byte under a directory tree (files only), for searching secrets. */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...allFiles(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}
