// The web console's first page load over loopback in Chromium (issue 19 §8, target ≤ 500 ms to
// interactive), beside Swagger UI (/admin/docs, the binary's other page) as the baseline, alternating,
// each load in a fresh browser context (empty cache, new connections). And the size of everything the
// console ships, gzipped as served (target ≤ 350 KB, xterm.js included).
//
//   nice -n 10 bun bench/console.ts --runs 9
//
// The gateway runs from source as a child process (`bun src/main.ts gateway`), a tenant made by the
// CLI. Three loads, each timed inside the page from navigation start (performance.now()) to the frame
// in which it became usable:
//   signin  — /ui/ with no cookie: the sign-in form's input is on screen;
//   chat    — /ui/#/chat with a session cookie: the composer is on screen and the agent list loaded
//             (GET /ui/api/session, then agents.list and sessions.history over the WebSocket);
//   swagger — /admin/docs: Swagger UI has rendered its operations (baseline).
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { arg, median, ROOT, startJsonPrinter, tmpdir } from "./lib.ts";

// The callbacks given to page.evaluate run in the page: its globals, for the type checker only
// (the server's tsconfig has no DOM library).
declare const document: any;

const RUNS = arg("--runs", 9);
const home = path.join(tmpdir("bench-console-"), "home");

function cli(args: string[]): string {
  const r = Bun.spawnSync(["bun", "src/main.ts", ...args], { cwd: ROOT, env: { ...process.env, OPENCLAW_HOME: home }, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

const token = (JSON.parse(cli(["tenants", "create", "bench", "--json"])) as { token: string }).token;
const gw = await startJsonPrinter(["bun", "src/main.ts", "gateway", "--port", "0", "--json"], { OPENCLAW_HOME: home }, { stderr: "ignore" });

async function sessionCookie(): Promise<{ name: string; value: string }> {
  const res = await fetch(`${gw.url}/ui/api/session`, { method: "POST", headers: { "content-type": "application/json", origin: gw.url }, body: JSON.stringify({ token }) });
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  const m = /^([^=]+)=([^;]*)/.exec(res.headers.get("set-cookie") ?? "");
  if (!m) throw new Error("sign-in set no cookie");
  return { name: m[1]!, value: m[2]! };
}

type Case = "signin" | "chat" | "swagger";
// Each returns performance.now() (ms since navigation start) in the frame the page became usable.
const READY: Record<Case, { url: string; ready: () => number | false }> = {
  signin: {
    url: "/ui/",
    ready: () => {
      const e = document.querySelector("input[name=secret]");
      return e !== null && e.getBoundingClientRect().height > 0 ? performance.now() : false;
    },
  },
  chat: {
    url: "/ui/#/chat",
    ready: () => {
      const t = document.querySelector(".composer textarea");
      const a = document.querySelector("main select") as { options: { length: number } } | null;
      return t !== null && a !== null && a.options.length > 0 ? performance.now() : false;
    },
  },
  swagger: { url: "/admin/docs", ready: () => (document.querySelector(".opblock-summary") ? performance.now() : false) },
};

async function load(browser: Browser, c: Case): Promise<number> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    if (c === "chat") await ctx.addCookies([{ ...(await sessionCookie()), url: gw.url }]);
    const page = await ctx.newPage();
    await page.goto(`${gw.url}${READY[c].url}`, { waitUntil: "commit" });
    const handle = await page.waitForFunction(READY[c].ready, undefined, { polling: "raf", timeout: 30_000 });
    return Math.round(((await handle.jsonValue()) as number) * 10) / 10;
  } finally {
    await ctx.close();
  }
}

/** Every file the console ships: the page, what it links, and the chunks scripts import (xterm.js's, loaded by the terminal page). */
async function shippedBytes(): Promise<{ files: { path: string; gzipBytes: number; bytes: number }[]; totalGzip: number }> {
  const html = await (await fetch(`${gw.url}/ui/`)).text();
  const queue = ["/ui/", ...[...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!)];
  const seen = new Set<string>();
  const files = [];
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p)) continue;
    seen.add(p);
    // The bytes on the wire, as the server says (fetch would hand back the body decompressed).
    const gz = await fetch(`${gw.url}${p}`, { headers: { "accept-encoding": "gzip" } });
    const raw = await fetch(`${gw.url}${p}`, { headers: { "accept-encoding": "identity" } });
    await gz.arrayBuffer();
    const text = await raw.text();
    if (gz.status !== 200 || gz.headers.get("content-encoding") !== "gzip") throw new Error(`${p}: ${gz.status}, not served gzipped`);
    files.push({ path: p, gzipBytes: Number(gz.headers.get("content-length")), bytes: Number(raw.headers.get("content-length")) });
    if (p.endsWith(".js")) for (const m of text.matchAll(/["'`]\.\/(chunk-[a-z0-9-]+\.js)["'`]/g)) queue.push(`/ui/assets/${m[1]}`);
  }
  return { files, totalGzip: files.reduce((n, f) => n + f.gzipBytes, 0) };
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const samples: Record<Case, number[]> = { signin: [], chat: [], swagger: [] };
try {
  for (const c of ["signin", "chat", "swagger"] as Case[]) await load(browser, c); // warm-up (the gateway's first requests)
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so neither case always runs right after the other.
    const order: Case[] = i % 2 ? ["swagger", "chat", "signin"] : ["signin", "chat", "swagger"];
    for (const c of order) samples[c].push(await load(browser, c));
  }
  const size = await shippedBytes();
  const summary = {
    runs: RUNS,
    medianMs: { signin: median(samples.signin), chat: median(samples.chat), swagger: median(samples.swagger) },
    targetMs: 500,
    shippedGzipBytes: size.totalGzip,
    targetGzipBytes: 350 * 1024,
    loadavg: fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  };
  const out = { command: `nice -n 10 bun bench/console.ts --runs ${RUNS}`, date: new Date().toISOString(), summary, samples, size };
  fs.mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "bench/results/console.json"), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(summary, null, 2));
} finally {
  await browser.close();
  gw.proc.kill("SIGTERM");
  await gw.proc.exited;
}
