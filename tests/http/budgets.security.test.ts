// What one small request may make the gateway hold (red team 11, finding 3): a 9 KB batch of 100
// `files.read` calls once took the gateway from 89 MB to 3.9 GB. The results of one request (a batch
// counted together) are now bounded by gateway.limits.rpcResponseBytes, and a tenant may have only
// gateway.limits.rpcConcurrentPerTenant requests in progress — until their responses are sent.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { startGateway } from "../../src/http/gateway.ts";
import { startGatewayProcess } from "../helpers/binary.ts";
import { cli } from "../helpers/cli.ts";
import { createTenant, makeHome, testApp, testCore, scope } from "../helpers/core.ts";

const MiB = 1024 * 1024;
const ROOT = path.join(import.meta.dir, "..", "..");
const read = (id: number, file: string) => ({ jsonrpc: "2.0", id, method: "files.read", params: { path: file, encoding: "base64" } });

function putFile(dir: string, name: string, bytes: number): void {
  fs.writeFileSync(path.join(dir, "workspace", name), Buffer.alloc(bytes, 7));
}

describe("the response budget of one request", () => {
  test("a batch stops at the budget: the item that crosses it ran (its result is dropped), later items are not run", async () => {
    const core = testCore({ config: { gateway: { limits: { rpcResponseBytes: 8 * MiB } } } });
    const token = createTenant(core, "acme");
    putFile(core.tenants.dir(scope("acme")), "r2", 2 * MiB);
    const { call } = testApp(core);
    const batch = [...Array.from({ length: 50 }, (_, i) => read(i + 1, "r2")), { jsonrpc: "2.0", id: 99, method: "files.write", params: { path: "late.txt", content: "x" } }];
    const r = await call("POST", "/rpc", { token, body: batch });
    expect(r.status).toBe(200);
    expect(r.text.length).toBeLessThanOrEqual(8 * MiB);
    const items = r.json as { id: number; result?: { content: string }; error?: { code: number; message: string; data: { code: string; ran: boolean } } }[];
    expect(items.map((i) => i.id)).toEqual([...Array.from({ length: 50 }, (_, i) => i + 1), 99]); // every item answered, in order
    const served = items.filter((i) => i.result);
    expect(served.length).toBe(2); // 2 × 2.8 MB of base64 fit in 8 MiB; a third would not
    expect(items[2]!.error).toMatchObject({ code: -32013, data: { code: "PAYLOAD_TOO_LARGE", ran: true } });
    expect(items[2]!.error!.message).toContain("gateway.limits.rpcResponseBytes");
    for (const i of items.slice(3)) expect(i.error).toMatchObject({ code: -32013, data: { code: "PAYLOAD_TOO_LARGE", ran: false } });
    expect(fs.existsSync(path.join(core.tenants.dir(scope("acme")), "workspace", "late.txt"))).toBe(false);
    core.close();
  });

  test("a single call whose result is larger than the budget gets the error instead", async () => {
    const core = testCore({ config: { gateway: { limits: { rpcResponseBytes: MiB } } } });
    const token = createTenant(core, "acme");
    putFile(core.tenants.dir(scope("acme")), "r2", 2 * MiB);
    const { rpc } = testApp(core);
    const r = await rpc(token, "files.read", { path: "r2" });
    expect(r.text.length).toBeLessThan(4096);
    expect(r.error).toMatchObject({ code: -32013, data: { code: "PAYLOAD_TOO_LARGE", ran: true, limit: MiB } });
    const part = await rpc(token, "files.read", { path: "r2", length: 512 * 1024, encoding: "base64" });
    expect(Buffer.from(part.result.content, "base64").length).toBe(512 * 1024); // less at a time fits
    core.close();
  });

  test("a real gateway process: 40 reads of an 8 MiB file in one request leave its peak memory bounded", async () => {
    const home = makeHome();
    const env = { OPENCLAW_HOME: home };
    const created = await cli(home, ["tenants", "create", "acme", "--json"]);
    expect(created.code).toBe(0);
    const token = JSON.parse(created.out).token as string;
    putFile(path.join(home, "tenants", "acme"), "r8", 8 * MiB);
    const gw = await startGatewayProcess(["bun", path.join(ROOT, "src/main.ts")], env);
    try {
      const status = () => fs.readFileSync(`/proc/${gw.proc.pid}/status`, "utf8");
      const kb = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)![1]) * 1024;
      const ok = await fetch(`${gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(read(1, "r8")) });
      expect(((await ok.json()) as { result: { size: number } }).result.size).toBe(8 * MiB); // one read works
      const before = kb(status(), "VmRSS");
      const res = await fetch(`${gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(Array.from({ length: 40 }, (_, i) => read(i + 1, "r8"))) });
      const body = await res.text();
      const peak = kb(status(), "VmHWM");
      expect(body.length).toBeLessThanOrEqual(32 * MiB); // the default budget
      // Before: the response alone was 450 MB and the peak over 1.5 GB. Now: the budget and a few items' copies.
      expect(peak - before).toBeLessThan(400 * MiB);
    } finally {
      gw.proc.kill("SIGTERM");
      await gw.proc.exited;
    }
  }, 120_000);
});

describe("requests in progress per tenant", () => {
  test("past the cap: RATE_LIMITED with Retry-After for that tenant only; a response keeps its place until it is read", async () => {
    const core = testCore({ config: { gateway: { limits: { rpcConcurrentPerTenant: 2 } } } });
    const token = createTenant(core, "acme");
    const other = createTenant(core, "other");
    putFile(core.tenants.dir(scope("acme")), "r100k", 100 * 1024);
    const { app, rpc } = testApp(core);
    const send = (t: string) => app.handle(new Request("http://localhost/rpc", { method: "POST", headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: JSON.stringify(read(1, "r100k")) }));
    // Two responses handed back but not read by the client: both places stay taken.
    const a = await send(token);
    const b = await send(token);
    expect([a.status, b.status]).toEqual([200, 200]);
    const refused = await rpc(token, "health");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.json.error.data.code).toBe("RATE_LIMITED");
    expect(refused.json.error.message).toContain("gateway.limits.rpcConcurrentPerTenant");
    expect((await rpc(other, "health")).result.tenantId).toBe("other"); // another tenant is served
    expect(((await a.json()) as { result: { size: number } }).result.size).toBe(100 * 1024); // read one…
    expect((await rpc(token, "health")).result.tenantId).toBe("acme"); // …and a place is free again
    await b.text();
    core.close();
  });

  test("a real listener: a client that does not read keeps its place; one that goes away frees it", async () => {
    const core = testCore({ config: { gateway: { port: 0, limits: { rpcConcurrentPerTenant: 1 } } } });
    const token = createTenant(core, "acme");
    putFile(core.tenants.dir(scope("acme")), "r8", 8 * MiB);
    const gw = startGateway(core);
    const health = async () => {
      const r = await fetch(`${gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "health" }) });
      await r.text();
      return r.status;
    };
    try {
      // 22 MB of results, more than the socket buffers take: the response stays in progress.
      const body = JSON.stringify([read(1, "r8"), read(2, "r8")]);
      const sock = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(gw.port, "127.0.0.1", () => {
          s.write(`POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        });
        s.once("data", () => {
          s.pause(); // the first bytes arrived; read no more
          resolve(s);
        });
        s.on("error", reject);
      });
      await Bun.sleep(300);
      expect(await health()).toBe(429); // its place is still taken
      sock.destroy(); // go away with the rest unread
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        await Bun.sleep(100);
        status = await health();
      }
      expect(status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});
