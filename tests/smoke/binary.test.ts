// Smoke test of the compiled binary, run from / with nothing beside it: fresh home → tenant → gateway
// on a free port → RPC with the token → CLI rotation → old token 401 within a second → new token works
// → no plaintext token anywhere under the home → SIGTERM drains in-flight work and exits 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { allFiles, makeHome } from "../helpers/core.ts";
import { binary, run, startGatewayProcess, type RunningGateway } from "../helpers/binary.ts";

let bin: string;
let home: string;
let gw: RunningGateway;
const tokens: string[] = [];
const env = () => ({ OPENCLAW_HOME: home });

const rpc = (token: string, method: string, params: unknown = {}) =>
  fetch(`${gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });

beforeAll(async () => {
  bin = binary();
  home = path.join(makeHome(), "fresh-home");
});

afterAll(() => {
  gw?.proc.kill("SIGKILL");
});

describe("compiled binary", () => {
  test("--version, and a fresh home created 0700 by the first command", () => {
    expect(run(bin, ["--version"]).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const r = run(bin, ["tenants", "create", "acme", "--json", "--quota.tokens-per-day", "5000"], env());
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout);
    tokens.push(created.token);
    // (Bun's toMatchObject writes asymmetric matchers into the object it checks, so read values first.)
    expect(created.tenantId).toBe("acme");
    expect(created.token).toMatch(/^ocmu_acme_[0-9A-Za-z]{28}$/);
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    for (const f of ["state.db", "audit.log"]) expect(fs.statSync(path.join(home, f)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(home, "tenants", "acme", "workspace")).mode & 0o777).toBe(0o700);
  });

  test("bad input exits non-zero with one line", () => {
    const r = run(bin, ["tenants", "create", "Bad_Id"], env());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('tenant id "Bad_Id" is invalid');
    const d = run(bin, ["tenants", "delete", "acme"], env());
    expect(d.code).toBe(1);
    expect(d.stderr).toContain("--confirm");
  });

  test("gateway on a free port answers the tenant's RPC", async () => {
    gw = await startGatewayProcess([bin], env());
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const res = await rpc(tokens[0]!, "tenants.get");
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).result).toMatchObject({ tenantId: "acme", status: "active", quota: { limits: { tokensPerDay: 5000 } } });
  });

  test("the gateway re-executed itself (same process) with its allocator settings; an operator's own value is kept", async () => {
    const environ = (pid: number) => fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    // The PID Bun.spawn returned is the gateway serving requests: execve kept it.
    expect(environ(gw.proc.pid)).toEqual(expect.arrayContaining(["MIMALLOC_PURGE_HOLES=0", "MIMALLOC_PURGE_DELAY=1000"]));
    expect(fs.readFileSync(`/proc/${gw.proc.pid}/cmdline`, "utf8").split("\0").slice(1, 4)).toEqual(["gateway", "--port", "0"]);
    const other = await startGatewayProcess([bin], { OPENCLAW_HOME: path.join(makeHome(), "other-home"), MIMALLOC_PURGE_DELAY: "250" });
    try {
      expect(environ(other.proc.pid)).toEqual(expect.arrayContaining(["MIMALLOC_PURGE_HOLES=0", "MIMALLOC_PURGE_DELAY=250"]));
      expect((await fetch(`${other.url}/readyz`)).status).toBe(200);
    } finally {
      other.proc.kill("SIGKILL");
    }
  });

  test("a CLI rotation is honoured by the running gateway within one second", async () => {
    const r = run(bin, ["tenants", "token", "rotate", "acme", "--json"], env());
    const returned = performance.now();
    expect(r.code).toBe(0);
    const fresh = JSON.parse(r.stdout).token as string;
    tokens.push(fresh);
    // The very first request after the CLI returns already sees the rotation.
    expect((await rpc(tokens[0]!, "health")).status).toBe(401);
    expect(performance.now() - returned).toBeLessThan(1000);
    expect((await rpc(fresh, "health")).status).toBe(200);
  });

  test("an admin-key rotation is honoured by the running gateway within one second", async () => {
    const r = run(bin, ["admin-key", "rotate", "--json"], env());
    const returned = performance.now();
    const key = JSON.parse(r.stdout).key as string;
    tokens.push(key);
    expect((await fetch(`${gw.url}/admin/v1/status`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect(performance.now() - returned).toBeLessThan(1000);
  });

  test("no plaintext token or key is anywhere under the home (database and WAL included)", () => {
    const files = allFiles(home);
    expect(files.some((f) => f.endsWith("state.db"))).toBe(true);
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const t of tokens) {
        expect({ file: f, found: bytes.includes(t) }).toEqual({ file: f, found: false });
        expect({ file: f, found: bytes.includes(t.slice(-28)) }).toEqual({ file: f, found: false });
      }
    }
  });

  test("SIGTERM lets an in-flight request finish, then exits 0 with the database closed", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tenants.get" });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode(body.slice(0, 10)));
        await gate;
        controller.enqueue(new TextEncoder().encode(body.slice(10)));
        controller.close();
      },
    });
    const inflight = fetch(`${gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${tokens[1]}`, "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
    await Bun.sleep(200);
    gw.proc.kill("SIGTERM");
    await Bun.sleep(200);
    // New connections are refused while draining.
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    release();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).result.tenantId).toBe("acme");
    expect(await gw.proc.exited).toBe(0);
    expect(gw.logs()).toContain('"msg":"stopped"');
    const wal = path.join(home, "state.db-wal");
    expect(!fs.existsSync(wal) || fs.statSync(wal).size === 0).toBe(true);
    expect(run(bin, ["audit", "verify"], env()).code).toBe(0);
  });
});
