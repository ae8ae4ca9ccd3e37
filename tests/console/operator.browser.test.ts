// The operator's face of the console, and the tenant's cron, channels and skills pages, in a real
// browser (Debian's chromium via playwright-core) against a real gateway: the operator signs in with
// the admin key, creates a tenant (its token shown once, working, kept nowhere), suspends, resumes,
// rotates and deletes it (only once its id is typed again), sets a quota; the usage page draws its
// charts and exports a CSV made in the browser; the audit page lists those actions and shows
// `audit verify`'s result; the system page shows status, sandbox and doctor checks. Every page is
// screenshotted at desktop and phone widths and checked by axe-core (no serious or critical violation).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import type { Page } from "playwright-core";
import { goodPlugin, goodSkill } from "../helpers/skill-packages.ts";
import { axeCheck, consoleWorld, openPage, pageProblems, screenshot, signIn, type ConsoleWorld } from "./harness.ts";

let w: ConsoleWorld;
let page: Page;

const rpc = (token: string, method: string, params: object = {}) =>
  fetch(`${w.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) }).then((r) => r.json() as Promise<any>);

beforeAll(async () => {
  w = await consoleWorld({ config: { gateway: { channels: { secretKey: "console-test-secret-key-0123456789" } } } });
  page = await w.newPage();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

async function checkPage(name: string, p: Page = page) {
  await screenshot(p, name);
  expect({ name, violations: await axeCheck(p) }).toEqual({ name, violations: [] });
}

const statusOf = (id: string) => w.core.tenants.list().find((t) => t.tenantId === id)?.status;
/** What the page logged as errors, but for the sign-in page's look for a session (401 before signing in). */
const problems = (p: Page) => pageProblems(p).filter((m) => !/status of 401/.test(m));

/** What script in the page can see: cookies, storage, the whole document. */
const visible = (p: Page) => p.evaluate(`JSON.stringify({ cookie: document.cookie, local: { ...localStorage }, session: { ...sessionStorage }, html: document.documentElement.outerHTML })`) as Promise<string>;

describe("operator console", () => {
  test("the operator signs in with the admin key and sees the operator's pages only", async () => {
    await signIn(page, w.adminKey);
    const nav = page.getByRole("navigation", { name: "Console" });
    for (const title of ["Tenants", "Usage", "Audit log", "System"]) await nav.getByRole("link", { name: title, exact: true }).waitFor();
    expect(await nav.getByRole("link", { name: "Chat" }).count()).toBe(0);
    expect(await visible(page)).not.toContain(w.adminKey);
  }, 60_000);

  test("tenants: create (token shown once, works, kept nowhere), suspend, resume, rotate, quota, delete with the id typed", async () => {
    await openPage(page, "tenants");
    await page.getByRole("cell", { name: "alpha", exact: true }).waitFor();
    await checkPage("operator-tenants");

    await page.getByLabel("Tenant id").fill("gamma");
    await page.getByLabel("Display name (optional)").fill("Gamma Corp");
    // By keyboard: Enter in the form submits it; the token's box takes the focus when it appears.
    await page.getByLabel("Display name (optional)").press("Enter");
    const shown = page.getByRole("region", { name: "Token of tenant gamma" });
    await shown.waitFor();
    // The focus moves in the render after the box appears: waited for, not sampled once.
    await page.waitForFunction("document.activeElement?.getAttribute('aria-label') === 'Token of tenant gamma'", null, { timeout: 10_000 });
    const token = (await shown.locator("[data-secret]").innerText()).trim();
    expect(token).toMatch(/^ocmu_/);
    expect(await shown.getByRole("button", { name: "Copy" }).isVisible()).toBe(true);
    expect((await rpc(token, "tenants.get")).result.tenantId).toBe("gamma");
    await checkPage("operator-tenant-created");
    const seen = await visible(page);
    expect(JSON.parse(seen).cookie).not.toContain("ocmu_console");
    expect(JSON.stringify([JSON.parse(seen).local, JSON.parse(seen).session])).not.toContain(token);
    await shown.getByRole("button", { name: /Done/ }).click();
    await shown.waitFor({ state: "detached" });
    expect(await visible(page)).not.toContain(token);

    const detail = page.getByRole("region", { name: "Tenant gamma" });
    await detail.waitFor();
    await detail.getByRole("button", { name: "Suspend" }).click();
    await detail.getByRole("button", { name: "Resume" }).waitFor();
    expect(statusOf("gamma")).toBe("suspended");
    expect((await rpc(token, "tenants.get")).error).toBeDefined();
    await checkPage("operator-tenant-suspended");
    await detail.getByRole("button", { name: "Resume" }).click();
    await detail.getByRole("button", { name: "Suspend" }).waitFor();
    expect(statusOf("gamma")).toBe("active");

    await detail.getByRole("button", { name: "Rotate token" }).click();
    const rotated = page.getByRole("region", { name: "New token of tenant gamma" });
    await rotated.waitFor();
    const token2 = (await rotated.locator("[data-secret]").innerText()).trim();
    expect(token2).not.toBe(token);
    expect((await rpc(token2, "tenants.get")).result.tenantId).toBe("gamma");
    expect((await rpc(token, "tenants.get")).error).toBeDefined();
    await rotated.getByRole("button", { name: /Done/ }).click();

    await detail.getByLabel("Tokens per day: applies").selectOption("value");
    await detail.getByLabel("Tokens per day: limit").fill("12345");
    await detail.getByRole("button", { name: "Save quotas" }).click();
    await detail.getByText("Quotas saved.").waitFor();
    expect((await rpc(token2, "tenants.quota.status")).result.limits.tokensPerDay).toBe(12345);

    const del = detail.getByRole("button", { name: "Delete gamma" });
    expect(await del.isDisabled()).toBe(true);
    await detail.getByLabel("Type gamma to confirm").fill("gamm");
    expect(await del.isDisabled()).toBe(true);
    await checkPage("operator-tenant-delete-confirm");
    await detail.getByLabel("Type gamma to confirm").fill("gamma");
    await del.click();
    await detail.waitFor({ state: "detached" });
    await page.getByRole("cell", { name: "alpha", exact: true }).waitFor();
    // The list reloads after the delete: its gamma row goes then (waited for, not sampled once).
    await page.getByRole("cell", { name: "gamma", exact: true }).waitFor({ state: "detached", timeout: 15_000 });
    expect(statusOf("gamma")).toBeUndefined();
    expect(problems(page)).toEqual([]);
  }, 90_000);

  test("usage: charts drawn from the admin API; the CSV export is made in the browser (a blob, no secret in a URL)", async () => {
    w.fake.script([{ text: "hello from the model" }]);
    const r = await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(r.status).toBe(200);
    await openPage(page, "usage-all");
    const chart = page.getByRole("img", { name: /^Cost per tenant:/ });
    await chart.waitFor();
    expect(await chart.getAttribute("aria-label")).toContain("alpha");
    expect(await page.locator("svg rect.bar").count()).toBeGreaterThan(0);
    await checkPage("operator-usage");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    expect(download.url()).toStartWith("blob:");
    expect(download.suggestedFilename()).toMatch(/^openclawmu-usage-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = fs.readFileSync((await download.path())!, "utf8");
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe("date,tenant,model,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,total_tokens,cost_usd,incarnation");
    const api = (await (await fetch(`${w.url}/admin/v1/usage/daily`, { headers: { authorization: `Bearer ${w.adminKey}` } })).json()) as { days: any[] };
    expect(lines.length - 1).toBe(api.days.length);
    const alpha = lines.slice(1).map((l) => l.split(",")).find((f) => f[1] === "alpha");
    const row = api.days.find((d) => d.tenantId === "alpha")!;
    expect(alpha).toEqual([row.date, "alpha", row.model, String(row.requests), String(row.inputTokens), String(row.outputTokens), "0", "0", "0", String(row.totalTokens), (row.costMicroUsd / 1e6).toFixed(6), row.incarnation]);
    expect(row.requests).toBeGreaterThan(0);
  }, 60_000);

  test("audit: the records of those actions, filtered, and audit verify's result", async () => {
    // Every page of records answers slowly, as on a loaded machine: the old rows are on screen while
    // the new ones load, and nothing below may read them as the new ones (CI found that race).
    await page.route(/\/admin\/v1\/audit\?/, async (route) => {
      await Bun.sleep(400);
      await route.continue();
    });
    await openPage(page, "audit");
    await page.locator("[data-verify]").waitFor();
    expect(await page.locator("[data-verify]").getAttribute("data-verify")).toBe("ok");
    expect(await page.locator("[data-verify]").innerText()).toContain("chain verified");
    await page.getByLabel("Tenant", { exact: true }).fill("gamma");
    await page.getByRole("button", { name: "Apply filters" }).click();
    // The rows carry the query they answer in their caption: waiting for it waits for the filtered rows
    // (the unfiltered ones stay on screen while they load).
    const table = page.getByRole("region", { name: "Audit records of tenant gamma (newest first)" });
    await table.getByText("tenant.delete").waitFor();
    const text = await table.innerText();
    for (const action of ["tenant.create", "tenant.suspend", "tenant.resume", "tenant.token.rotate", "tenant.quota.set", "tenant.delete"]) expect({ action, found: text.includes(action) }).toEqual({ action, found: true });
    await checkPage("operator-audit");
    // Paging: more records than a page (50) — "Older" goes on from the last seq shown, "Newer" comes back.
    for (let i = 0; i < 60; i++) w.core.tenants.create({ id: `page-${i}` }, { actor: { kind: "operator", id: "test" }, requestId: `req_page_${i}` });
    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByText("Page 1").waitFor();
    const seqs = async () => (await page.getByRole("region", { name: /Audit records/ }).locator("tbody tr td:first-child").allInnerTexts()).map(Number);
    await page.getByRole("region", { name: "Audit records (newest first)" }).locator("tbody tr").nth(49).waitFor();
    const first = await seqs();
    expect(first.length).toBe(50);
    // Every state the page is painted in while page 2 loads is recorded: page 1's rows must never be on
    // screen under page 2's pager, not even in the one render before the next page is asked for (red team 20).
    await page.evaluate(() => {
      const g = globalThis as any;
      g.mixed = [];
      new g.MutationObserver(() => {
        const pager = g.document.querySelector("nav.pager span")?.textContent ?? "";
        const caption = g.document.querySelector("caption")?.textContent ?? "";
        if (pager === "Page 2" && !caption.includes("before seq")) g.mixed.push(`${pager} | ${caption}`);
      }).observe(g.document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole("button", { name: "Older" }).click();
    await page.getByText("Page 2").waitFor();
    await page.getByRole("region", { name: `Audit records before seq ${first[49]} (newest first)` }).waitFor();
    expect(await page.evaluate(() => (globalThis as any).mixed)).toEqual([]);
    const second = await seqs();
    expect(second[0]).toBe(first[49]! - 1);
    await page.getByRole("button", { name: "Newer" }).click();
    await page.getByText("Page 1").waitFor();
    await page.getByRole("region", { name: "Audit records (newest first)" }).waitFor();
    expect(await seqs()).toEqual(first);
    await page.getByLabel("Outcome").selectOption("denied");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByText("No audit records match these filters.").waitFor();
    await page.unroute(/\/admin\/v1\/audit\?/);
  }, 60_000);

  test("system: status, sandbox and doctor checks, and the link to /admin/docs", async () => {
    await openPage(page, "system");
    await page.getByRole("heading", { name: "Gateway" }).waitFor();
    await page.getByRole("heading", { name: "Sandbox status" }).waitFor({ timeout: 45_000 });
    const sandbox = await page.getByRole("region", { name: "Sandbox status" }).innerText();
    expect(sandbox).toContain("bwrap");
    expect(sandbox).toContain("seccomp");
    expect(await page.getByRole("region", { name: "Installation checks" }).innerText()).toContain("audit log");
    expect(await page.getByRole("link", { name: /\/admin\/docs/ }).getAttribute("href")).toBe("/admin/docs");
    await checkPage("operator-system");
  }, 60_000);

  test("every operator page at phone width", async () => {
    const phone = await w.newPage({ width: 375, height: 800 });
    await signIn(phone, w.adminKey);
    for (const id of ["tenants", "usage-all", "audit", "system"]) {
      await openPage(phone, id);
      await phone.locator(".loading").first().waitFor({ state: "detached", timeout: 45_000 }).catch(() => undefined);
      await checkPage(`operator-${id}-phone`, phone);
      // Nothing wider than the screen but the tables' own scroll boxes.
      // On failure, name the page and the widest elements (what the check saw, not a guess).
      const seen: { width: number; wide: string[] } = await phone.evaluate(`(() => {
        const wide = [...document.querySelectorAll("main *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".table-wrap, pre, .xterm"));
        return { width: document.documentElement.scrollWidth, wide: wide.slice(0, 3).map((e) => e.tagName.toLowerCase() + "." + [...e.classList].join(".") + " " + Math.round(e.getBoundingClientRect().right) + ": " + (e.textContent || "").slice(0, 80)) };
      })()`);
      expect({ id, ...seen }).toEqual({ id, width: 375, wide: [] });
    }
  }, 120_000);
});

describe("tenant pages of the cron, channels and skills modules", () => {
  let t: Page;
  beforeAll(async () => {
    t = await w.newPage();
    await signIn(t, w.tokens.alpha);
  }, 60_000);

  test("cron: add a job, disable, enable, run now, history, remove", async () => {
    await openPage(t, "cron");
    await t.getByText("No jobs yet").waitFor();
    await checkPage("tenant-cron-empty", t);
    await t.getByLabel("Name").fill("nightly echo");
    await t.getByLabel("Does").selectOption("exec");
    await t.getByLabel("Command").fill("echo");
    await t.getByLabel("Arguments (separated by spaces)").fill("hello cron");
    await t.getByRole("button", { name: "Add job" }).click();
    await t.getByRole("cell", { name: /^nightly echo/ }).waitFor();
    await t.getByRole("button", { name: "Disable nightly echo" }).click();
    await t.getByRole("button", { name: "Enable nightly echo" }).waitFor();
    expect((await rpc(w.tokens.alpha, "cron.list", { includeDisabled: true })).result.items[0].enabled).toBe(false);
    await t.getByRole("button", { name: "Enable nightly echo" }).click();
    await t.getByRole("button", { name: "Disable nightly echo" }).waitFor();
    await t.getByRole("button", { name: "Run now: nightly echo" }).click();
    const runs = t.getByRole("region", { name: /run\(s\), newest first/ });
    await runs.getByText("manual").waitFor();
    // The run's outcome shows once it ends (the page looks again while one is running).
    await runs.getByText("hello cron").waitFor({ timeout: 30_000 });
    expect(await runs.getByText("ok", { exact: true }).count()).toBe(1);
    await checkPage("tenant-cron", t);
    await t.getByRole("button", { name: "Remove" }).click();
    await t.getByRole("button", { name: "Remove nightly echo" }).click();
    await t.getByText("No jobs yet").waitFor();
    expect((await rpc(w.tokens.alpha, "cron.list", { includeDisabled: true })).result.items).toEqual([]);
  }, 60_000);

  test("channels: pair a signed webhook (its key shown once), status, a wrong pairing code refused, unpair", async () => {
    await openPage(t, "channels");
    await t.getByText("No channels paired yet.").waitFor();
    await t.getByLabel("Kind").selectOption("webhook");
    await t.getByLabel("Name (optional)").fill("my hook");
    await t.getByRole("button", { name: "Pair" }).click();
    const key = t.getByRole("region", { name: "Webhook signing key" });
    await key.waitFor();
    expect((await key.locator("[data-secret]").innerText()).trim().length).toBeGreaterThanOrEqual(32);
    await t.getByRole("cell", { name: /my hook/ }).waitFor();
    await t.getByText(/0 in, 0 replied/).waitFor();
    await checkPage("tenant-channels", t);
    await t.getByLabel("Pairing code for my hook").fill("ABCD-EFGH");
    await t.getByRole("button", { name: "Approve" }).click();
    await t.getByRole("alert").first().waitFor();
    await t.getByRole("button", { name: "Unpair" }).click();
    await t.getByRole("button", { name: "Unpair my hook" }).click();
    await t.getByText("No channels paired yet.").waitFor();
    expect((await rpc(w.tokens.alpha, "channels.list")).result.channels).toEqual([]);
  }, 60_000);

  test("skills and plugins: install from an uploaded archive, disable, enable, remove", async () => {
    await openPage(t, "skills");
    await t.getByText("No skills installed.").waitFor();
    await t.getByLabel("Archive (tar, tar.gz or zip)").setInputFiles({ name: "notes.tar.gz", mimeType: "application/gzip", buffer: await goodSkill("notes") });
    await t.getByRole("button", { name: "Install" }).click();
    await t.getByText("skill notes installed.").waitFor();
    await t.getByLabel("Kind").selectOption("plugin");
    await t.getByLabel("Archive (tar, tar.gz or zip)").setInputFiles({ name: "echoer.tar.gz", mimeType: "application/gzip", buffer: await goodPlugin("echoer") });
    await t.getByRole("button", { name: "Install" }).click();
    await t.getByText("plugin echoer installed.").waitFor();
    await t.getByRole("button", { name: "Disable skill notes" }).click();
    await t.getByRole("button", { name: "Enable skill notes" }).waitFor();
    expect((await rpc(w.tokens.alpha, "skills.list")).result.items.find((s: any) => s.name === "notes").enabled).toBe(false);
    await checkPage("tenant-skills", t);
    await t.getByRole("button", { name: "Enable skill notes" }).click();
    await t.getByRole("button", { name: "Disable skill notes" }).waitFor();
    await t.getByRole("region", { name: "Plugins", exact: true }).getByRole("button", { name: "Remove" }).click();
    await t.getByRole("button", { name: "Remove echoer" }).click();
    await t.getByText("No plugins installed.").waitFor();
    expect((await rpc(w.tokens.alpha, "plugins.list")).result.items).toEqual([]);
  }, 60_000);

  test("the three pages at phone width", async () => {
    const phone = await w.newPage({ width: 375, height: 800 });
    await signIn(phone, w.tokens.alpha);
    for (const id of ["cron", "channels", "skills"]) {
      await openPage(phone, id);
      await phone.locator(".loading").first().waitFor({ state: "detached" }).catch(() => undefined);
      await checkPage(`tenant-${id}-phone`, phone);
      expect(await phone.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
    }
    expect(problems(t)).toEqual([]);
  }, 90_000);
});
