// The console's browser-test world: a real gateway (listening on loopback) routing to the fake
// provider, tenants alpha and beta, the admin key, and Debian's chromium driven by playwright-core.
// Helpers sign a page in through the form (as a person would), save screenshots under
// tests/artifacts/console/, and run axe-core in the page.
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { chatWorld, type ChatWorld } from "../helpers/chat.ts";
import { adminKey, createTenant } from "../helpers/core.ts";

// The callbacks given to page.evaluate run in the page: its globals, for the type checker only
// (the server's tsconfig has no DOM library).
declare const document: any;

export const ARTIFACTS = path.join(import.meta.dir, "..", "artifacts", "console");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const AXE = require.resolve("axe-core/axe.min.js");

export interface ConsoleWorld extends ChatWorld {
  /** The gateway's origin, e.g. http://127.0.0.1:PORT */
  url: string;
  tokens: { alpha: string; beta: string };
  adminKey: string;
  browser: Browser;
  /** A fresh browser context (its own cookies) and page; `width` for a phone-sized window. */
  newPage(opts?: { width?: number; height?: number }): Promise<Page>;
  close(): Promise<void>;
}

export interface ConsoleWorldOptions {
  /** Extra gateway config (merged as chatWorld merges it). */
  config?: Record<string, any>;
  /** Tools the tenants' agents may use (default: file_list, file_read). */
  tools?: string[];
}

export async function consoleWorld(opts: ConsoleWorldOptions = {}): Promise<ConsoleWorld> {
  const w = await chatWorld({ tenant: "alpha", config: { agents: { defaults: { model: "gpt-4o-mini" }, tools: opts.tools ?? ["file_list", "file_read"] }, ...opts.config } });
  const beta = createTenant(w.core, "beta");
  const key = adminKey(w.core);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const contexts: BrowserContext[] = [];
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return {
    ...w,
    url: w.gw.url,
    tokens: { alpha: w.token, beta },
    adminKey: key,
    browser,
    async newPage({ width = 1280, height = 800 } = {}) {
      const ctx = await browser.newContext({ viewport: { width, height }, baseURL: w.gw.url });
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.setDefaultTimeout(15_000);
      // Anything the page logs as an error (a CSP refusal among them) is kept for the test to assert on.
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      (page as Page & { problems: string[] }).problems = problems;
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await w.close();
    },
  };
}

/** What the page logged as errors (console.error, uncaught exceptions, CSP refusals). */
export function pageProblems(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/** Signs the page in through the sign-in form with a tenant token or the admin key; waits for the shell. */
export async function signIn(page: Page, secret: string): Promise<void> {
  await page.goto("/ui/");
  await page.getByLabel("Token or admin key").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  // (At phone widths the navigation is folded behind the Menu button: wait for the shell's sign-out.)
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Opens a page of the console by id (hash route) and waits for its heading. */
export async function openPage(page: Page, id: string): Promise<void> {
  await page.goto(`/ui/#/${id}`);
  await page.locator("main h1").first().waitFor();
}

/** Saves a full-page screenshot as tests/artifacts/console/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name.replace(/[^a-z0-9_.-]/gi, "_")}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe-core in the page; answers the serious and critical violations (a test expects none). */
export async function axeCheck(page: Page): Promise<AxeViolation[]> {
  // Loaded by the test driver, not the page: the CSP (script-src 'self') would refuse a script tag's
  // inline content, so the file is added as an init script of the page's main world via evaluate.
  const source = fs.readFileSync(AXE, "utf8");
  await page.evaluate(source);
  const result = (await page.evaluate(async () => {
    const r = await (globalThis as any).axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n: any) => String(n.target)) }));
  })) as AxeViolation[];
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}
