// The compiled binary, alone in a directory and run from /, serves the console: the bundle was made
// at build time and embedded, so the page renders in a real browser with no source tree, no
// node_modules and every external host unreachable, under the console's CSP (no violation logged).
import { afterAll, describe, expect, test } from "bun:test";
import path from "node:path";
import { chromium } from "playwright-core";
import { CONSOLE_CSP } from "../../src/edge/security-headers.ts";
import { binary, startGatewayProcess, type RunningGateway } from "../helpers/binary.ts";
import { makeHome } from "../helpers/core.ts";

// The callbacks given to page.evaluate run in the page: its globals, for the type checker only
// (the server's tsconfig has no DOM library).
declare const document: any;

let gw: RunningGateway | undefined;
afterAll(() => gw?.proc.kill("SIGKILL"));

describe("console from the binary", () => {
  test("/ui/ and its assets are served from the binary and render offline under the CSP", async () => {
    const bin = binary();
    gw = await startGatewayProcess([bin], { OPENCLAW_HOME: path.join(makeHome(), "h") });
    const res = await fetch(`${gw.url}/ui/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of assets) expect((await fetch(`${gw.url}${a}`)).status).toBe(200);

    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (m) => m.type() === "error" && !/\/ui\/api\/session/.test(m.location().url) && problems.push(m.text()));
      page.on("pageerror", (e) => problems.push(e.message));
      const external: string[] = [];
      page.on("request", (r) => !r.url().startsWith(gw!.url) && !r.url().startsWith("data:") && external.push(r.url()));
      await page.goto(`${gw.url}/ui/`);
      // The bundle ran: the shell rendered and asked the gateway for a session (none: the sign-in form).
      await page.getByLabel("Token or admin key").waitFor({ timeout: 15_000 });
      expect(await page.evaluate(() => document.styleSheets.length)).toBeGreaterThan(0);
      expect(problems).toEqual([]);
      expect(external).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);
});
