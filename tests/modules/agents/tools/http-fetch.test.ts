// http_fetch: the sandbox's egress policy with the http_fetch allow-list decides every request and
// every redirect hop; private, loopback, link-local and metadata addresses are refused (the admin's
// allowPrivate is the only exception); responses are capped. exec's own allow-list is separate.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { operatorCtx, scope } from "../../../helpers/core.ts";
import { ensureSandboxImage } from "../../../helpers/sandbox.ts";
import { toolWorld, type ToolWorld } from "./world.ts";

let server: ReturnType<typeof Bun.serve>;
const hits: string[] = [];
beforeAll(() => {
  // On every address of the host, so 127.0.0.2 would answer too if the policy let it through.
  server = Bun.serve({
    hostname: "0.0.0.0",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      hits.push(u.pathname);
      if (u.pathname === "/hello") return new Response("hello from upstream", { headers: { "x-test": "yes" } });
      if (u.pathname === "/echo") return new Response(`${req.method} ${req.headers.get("x-token")} ${await req.text()}`);
      if (u.pathname === "/big") return new Response("b".repeat(1_000_000));
      if (u.pathname === "/to-hello") return Response.redirect(`http://127.0.0.1:${server.port}/hello`, 302);
      if (u.pathname === "/to-metadata") return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
      if (u.pathname === "/to-private") return Response.redirect(`http://127.0.0.2:${server.port}/secret`, 302);
      if (u.pathname === "/secret") return new Response("SECRET-FROM-PRIVATE");
      if (u.pathname === "/slow") return Bun.sleep(20_000).then(() => new Response("late"));
      return new Response("nope", { status: 404 });
    },
  });
});
afterAll(() => server.stop(true));

function world(allowPrivate: string[]): ToolWorld {
  const w = toolWorld({
    sandbox: {
      mode: "bwrap",
      allowedModes: ["bwrap"],
      egress: { tools: { http_fetch: ["127.0.0.1:*", "127.0.0.2:*", "localhost:*", "169.254.169.254:80", "10.1.2.3:80"], exec: ["127.0.0.1:*"] }, ...(allowPrivate.length ? { allowPrivate } : {}) },
    },
  });
  const p = server.port;
  w.core.overlays.set(scope("alpha"), { tools: { egress: { http_fetch: [`127.0.0.1:${p}`, `127.0.0.2:${p}`, `localhost:${p}`, "169.254.169.254:80", "10.1.2.3:80"] } } }, operatorCtx);
  return w;
}

describe("http_fetch where the admin lets 127.0.0.1 through (allowPrivate)", () => {
  let w: ToolWorld;
  beforeAll(() => (w = world(["127.0.0.1/32"])));
  afterAll(() => w.core.close());

  test("GET: status, headers and body", async () => {
    hits.length = 0;
    const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/hello` }, w.ctx("alpha"));
    expect(r.isError).toBe(false);
    expect(r.content).toStartWith("HTTP 200\n");
    expect(r.content).toMatch(/x-test: yes/i);
    expect(r.content).toEndWith("\n\nhello from upstream");
    expect(hits).toEqual(["/hello"]);
  }, 30_000);

  test("POST with a body and headers; HEAD", async () => {
    const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/echo`, method: "POST", headers: { "X-Token": "t1" }, body: "payload" }, w.ctx("alpha"));
    expect(r.content).toEndWith("\n\nPOST t1 payload");
    const h = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/hello`, method: "HEAD" }, w.ctx("alpha"));
    expect(h.content).toStartWith("HTTP 200\n");
    expect(h.content).not.toContain("hello from upstream");
    const bad = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/echo`, headers: { Host: "evil.example" } }, w.ctx("alpha"));
    expect(bad).toMatchObject({ isError: true, content: "INVALID_PARAMS: header Host is set by the gateway" });
  }, 30_000);

  test("a .curlrc in the workspace (HOME in the sandbox) is not read", async () => {
    await w.call("file_write", { path: ".curlrc", content: 'header = "X-Token: from-curlrc"\n' }, w.ctx("alpha"));
    const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/echo` }, w.ctx("alpha"));
    expect(r.content).toEndWith("\n\nGET null ");
  }, 30_000);

  test("one call is one request: curl's URL globbing is off", async () => {
    hits.length = 0;
    const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/echo?n=[1-5]` }, w.ctx("alpha"));
    expect(r.isError).toBe(false);
    expect(hits).toEqual(["/echo"]);
  }, 30_000);

  test("aborted by ctx.signal mid-request: the result comes promptly", async () => {
    const ac = new AbortController();
    const running = w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/slow` }, w.ctx("alpha", { signal: ac.signal }));
    await Bun.sleep(1000);
    const t0 = performance.now();
    ac.abort();
    const r = await running;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.isError).toBe(true);
    expect(r.content).toContain("stopped (aborted)");
    expect(w.core.sandbox.liveRuns("alpha")).toBe(0);
  }, 30_000);

  test("a redirect to an allowed address is followed", async () => {
    const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/to-hello` }, w.ctx("alpha"));
    expect(r.content).toStartWith(`HTTP 200 after 1 redirect(s), from http://127.0.0.1:${server.port}/hello`);
    expect(r.content).toEndWith("hello from upstream");
  }, 30_000);

  test("a redirect to a private or metadata address is refused at that hop", async () => {
    hits.length = 0;
    const meta = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/to-metadata` }, w.ctx("alpha"));
    expect(meta.isError).toBe(true);
    expect(meta.content).toContain("HTTP 403");
    expect(meta.content).toContain("169.254.169.254 resolves to 169.254.169.254 (private, loopback, link-local, metadata or host address)");
    const priv = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/to-private` }, w.ctx("alpha"));
    expect(priv.isError).toBe(true);
    expect(priv.content).toContain("127.0.0.2 resolves to 127.0.0.2 (private");
    expect(priv.content).not.toContain("SECRET-FROM-PRIVATE");
    expect(hits).toEqual(["/to-metadata", "/to-private"]);
  }, 30_000);

  test("the response is capped at maxOutputBytes and marked", async () => {
    const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/big` }, w.ctx("alpha", { maxOutputBytes: 4096 }));
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.content)).toBeLessThanOrEqual(4096);
    expect(r.content).toContain("[output truncated");
  }, 30_000);

  test("another tenant without the tool's allow-list reaches nothing", async () => {
    hits.length = 0;
    const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/hello` }, w.ctx("beta"));
    expect(r.isError).toBe(true);
    expect(r.content).not.toContain("hello from upstream");
    expect(hits).toEqual([]);
  }, 30_000);

  test("exec uses exec's allow-list, not http_fetch's", async () => {
    hits.length = 0;
    const get = `busybox wget -q -O - http://127.0.0.1:${server.port}/hello 2>&1; echo " rc=$?"`;
    const without = await w.call("exec", { command: get }, w.ctx("alpha"));
    expect(without.content).not.toContain("hello from upstream");
    w.core.overlays.set(scope("alpha"), { tools: { egress: { exec: [`127.0.0.1:${server.port}`] } } }, operatorCtx);
    const withList = await w.call("exec", { command: get }, w.ctx("alpha"));
    expect(withList.content).toContain("hello from upstream");
    expect(hits).toEqual(["/hello"]);
  }, 30_000);
});

describe("http_fetch with the default policy: private ranges refused", () => {
  let w: ToolWorld;
  beforeAll(() => (w = world([])));
  afterAll(() => w.core.close());

  test("127.0.0.1, a name resolving to loopback, 169.254.169.254, 10.x, and https to loopback are all refused, even when allow-listed", async () => {
    hits.length = 0;
    const before = w.core.sandbox.egressCounts(scope("alpha")).refused;
    const urls = [
      `http://127.0.0.1:${server.port}/hello`,
      `http://localhost:${server.port}/hello`,
      "http://169.254.169.254/latest/meta-data/",
      "http://10.1.2.3/",
      `https://127.0.0.1:${server.port}/hello`,
    ];
    for (const url of urls) {
      const r = await w.call("http_fetch", { url }, w.ctx("alpha"));
      expect({ url, isError: r.isError }).toEqual({ url, isError: true });
      expect(r.content).not.toContain("hello from upstream");
      expect(r.content).toMatch(/private, loopback|refused by the egress policy/);
    }
    expect(hits).toEqual([]);
    expect(w.core.sandbox.egressCounts(scope("alpha")).refused - before).toBe(urls.length);
  }, 60_000);

  test("a host outside the allow-list is refused before any lookup; odd URLs are refused outright", async () => {
    const r = await w.call("http_fetch", { url: "http://example.invalid/" }, w.ctx("alpha"));
    expect(r.isError).toBe(true);
    expect(r.content).toContain("not in this run's egress allow-list");
    for (const url of ["file:///etc/passwd", "ftp://x/", "http://user:pw@127.0.0.1/", "not a url"]) {
      const bad = await w.call("http_fetch", { url }, w.ctx("alpha"));
      expect({ url, isError: bad.isError }).toEqual({ url, isError: true });
      expect(bad.content).toStartWith("INVALID_PARAMS: ");
    }
  }, 30_000);
});

describe("http_fetch without an admin ceiling for the tool", () => {
  test("is refused with the reason", async () => {
    const w = toolWorld({ sandbox: { mode: "bwrap", allowedModes: ["bwrap"] } });
    try {
      const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/hello` }, w.ctx("alpha"));
      expect(r).toMatchObject({ isError: true, content: 'FORBIDDEN: tool "http_fetch" has no egress allowed by the gateway' });
    } finally {
      w.core.close();
    }
  });
});

describe("http_fetch in a sandbox without curl (the default docker-mode image)", () => {
  test("is a clear UNAVAILABLE result, not a crash", async () => {
    await ensureSandboxImage();
    const w = toolWorld({ sandbox: { mode: "docker", allowedModes: ["bwrap", "docker"], docker: { runtime: "runc" }, egress: { tools: { http_fetch: ["127.0.0.1:*"] }, allowPrivate: ["127.0.0.1/32"] } } });
    try {
      w.core.overlays.set(scope("alpha"), { tools: { egress: { http_fetch: [`127.0.0.1:${server.port}`] } } }, operatorCtx);
      const r = await w.call("http_fetch", { url: `http://127.0.0.1:${server.port}/hello` }, w.ctx("alpha"));
      expect(r.isError).toBe(true);
      expect(r.content).toStartWith("UNAVAILABLE: http_fetch needs curl inside the sandbox");
    } finally {
      w.core.close();
    }
  }, 60_000);
});
