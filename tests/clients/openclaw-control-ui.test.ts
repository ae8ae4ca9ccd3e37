// Upstream's browser Control UI (the package's dist/control-ui, served statically by this test from
// another loopback port) opened in headless Chromium via playwright-core and pointed at our gateway
// with `?gatewayUrl=…#token=<tenant token>`: the "Switch" confirm, then a chat turn; a screenshot
// goes to tests/artifacts/ (git-ignored).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { ARTIFACTS, CHROMIUM, clientsSuite, rpcHistoryTexts, rpcTurn, upstreamInstall } from "./harness.ts";

let ui: ReturnType<typeof Bun.serve>;

/** The UI as any static host serves it: files, index.html for every other path (an SPA), nothing else. */
function serveControlUi(root: string): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const p = decodeURIComponent(new URL(req.url).pathname);
      const file = path.resolve(root, `.${p}`);
      if (!file.startsWith(`${root}${path.sep}`) && file !== root) return new Response("bad path", { status: 400 });
      if (p !== "/" && fs.existsSync(file) && fs.statSync(file).isFile()) return new Response(Bun.file(file));
      if (/\.[a-z0-9]+$/i.test(p)) return new Response("not found", { status: 404 });
      return new Response(Bun.file(path.join(root, "index.html")), { headers: { "content-type": "text/html; charset=utf-8" } });
    },
  });
}

// The UI's static server first: the gateway's config lists its origin (another loopback port), as the
// operator must (the /rpc origin policy applies to / too).
beforeAll(() => {
  if (!CHROMIUM) throw new Error("chromium is not installed (CI installs it: apt-get install chromium)");
  ui = serveControlUi(upstreamInstall().controlUi);
});
afterAll(() => ui.stop(true));
const suite = clientsSuite("openclaw-control-ui", { allowedOrigins: () => [`http://127.0.0.1:${ui.port}`] });

interface DriverResult {
  ok: boolean;
  step: string;
  error?: string;
  text?: string;
  console: string[];
}

async function drive(token: string, message: string, reply: string, screenshot: string, timeoutMs = 60_000): Promise<DriverResult> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const opts = {
    playwright: suite.u.packageJson,
    chromium: CHROMIUM,
    pageUrl: `http://127.0.0.1:${ui.port}/?gatewayUrl=${encodeURIComponent(suite.tap.url)}#token=${encodeURIComponent(token)}`,
    gatewayHost: new URL(suite.tap.url).host,
    message,
    reply,
    screenshot,
    timeoutMs,
  };
  const proc = Bun.spawn([suite.u.node, path.join(import.meta.dir, "control-ui-driver.mjs"), JSON.stringify(opts)], { stdout: "pipe", stderr: "pipe", env: { PATH: `${path.dirname(suite.u.node)}:/usr/bin:/bin`, HOME: path.dirname(screenshot) } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 280_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  await proc.exited;
  const line = out.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as DriverResult;
  } catch {
    throw new Error(`the Control UI driver printed no result (exit ${proc.exitCode}):\n${out.slice(-2000)}\n${err.slice(-2000)}`);
  }
}

const explain = (r: DriverResult) =>
  `Control UI stopped at step "${r.step}": ${r.error}\n--- page text\n${(r.text ?? "").slice(-1500)}\n--- browser log (tail)\n${r.console.slice(-12).map((l) => l.slice(0, 300)).join("\n")}\n--- frames (browser > gateway, < back)\n${suite.tap.transcript(40)}`;

describe("the Control UI (upstream, in Chromium) against our gateway", () => {
  test("switches to our gateway with the tenant token, chats, and shows none of the other tenant's sessions", async () => {
    await rpcTurn(suite.w, suite.w.beta, "agent:main:main", "beta private words");
    suite.w.fake.script("hello from the control ui", [{ text: "alpha-ui-reply rendered" }]);
    const shot = path.join(ARTIFACTS, "openclaw-control-ui.png");
    const r = await drive(suite.w.alpha, "hello from the control ui", "alpha-ui-reply rendered", shot);
    if (!r.ok) throw new Error(explain(r));
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    // Shown once: the UI matched its own pending message to the session's (upstream's runId is the
    // client's idempotencyKey; a different id leaves the message duplicated and the run "in flight").
    expect(r.text!.split("hello from the control ui").length - 1, explain(r)).toBe(1);
    expect(r.text).not.toContain("beta private words");
    // The turn is alpha's, in our own view of its session.
    expect(await rpcHistoryTexts(suite.w, suite.w.alpha, "agent:main:main")).toEqual(["hello from the control ui", "alpha-ui-reply rendered"]);
    // The browser's connect was answered by hello-ok after the Origin check and the device proof.
    expect(suite.tap.frames.some((f) => f.dir === "<" && f.data.includes('"type":"hello-ok"'))).toBe(true);
  }, 300_000);

  test("a wrong token: no chat, the connect is refused", async () => {
    const before = suite.w.fake.requests.length;
    const r = await drive(`${suite.w.alpha.slice(0, -4)}zzzz`, "must not be sent", "never", path.join(ARTIFACTS, "openclaw-control-ui-wrong-token.png"), 30_000);
    expect(r.ok).toBe(false);
    expect(["confirm the gateway switch", "chat input ready", "send the message", "reply rendered"]).toContain(r.step);
    expect(suite.w.fake.requests.length).toBe(before);
    const refusals = suite.tap.frames.filter((f) => f.dir === "<" && f.data.includes('"ok":false') && f.data.includes("unauthorized"));
    expect(refusals.length, suite.tap.transcript(20)).toBeGreaterThan(0);
  }, 300_000);
});
