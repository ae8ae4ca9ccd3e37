// The tenant's face of the console in a real browser (Debian's chromium via playwright-core) against a
// real gateway: sign-in by pasting the token (an HttpOnly cookie, nothing script-readable), a chat whose
// answer streams and whose tool step shows while the turn still runs, the sessions list with history,
// a file uploaded, viewed, downloaded and deleted, the usage chart, and `echo hi` in the terminal. Every
// page is screenshotted (tests/artifacts/console/) and checked by axe-core (no serious or critical
// violation), at desktop and phone widths; nothing on any page is refused by the CSP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { axeCheck, consoleWorld, openPage, pageProblems, screenshot, signIn, type ConsoleWorld } from "./harness.ts";
import { operatorCtx, scope } from "../helpers/core.ts";

// The callbacks given to page.evaluate run in the page: its globals, for the type checker only
// (the server's tsconfig has no DOM library).
declare const document: any, window: any;

let w: ConsoleWorld;
let page: Page;

beforeAll(async () => {
  w = await consoleWorld();
  page = await w.newPage();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

/** Polls `get` until `ok` holds (or 15 s pass); answers the last value, for the test's assertion. */
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await get();
  while (!ok(v) && Date.now() < deadline) {
    await Bun.sleep(100);
    v = await get();
  }
  return v;
}

/** What the page logged as errors, but the 401 of the session look-up before signing in (the browser logs every failed fetch). */
const problems = (p: Page) => pageProblems(p).filter((m) => !/status of 401/.test(m));

async function checkPage(name: string, p: Page = page) {
  await screenshot(p, name);
  expect({ name, violations: await axeCheck(p) }).toEqual({ name, violations: [] });
}

describe("tenant console", () => {
  test("sign-in with the token: an HttpOnly, SameSite=Strict cookie; the token is kept nowhere the page can read", async () => {
    await page.goto("/ui/");
    await page.getByLabel("Token or admin key").waitFor();
    await checkPage("tenant-signin");
    // A wrong token: the one identical failure, and the form stays.
    await page.getByLabel("Token or admin key").fill("ocmu_alpha_wrongwrongwrongwrongwrongwr");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").innerText()).toContain("not accepted");

    await signIn(page, w.tokens.alpha);
    const nav = page.getByRole("navigation", { name: "Console" });
    for (const title of ["Chat", "Sessions", "Files", "Usage", "Terminal"]) await nav.getByRole("link", { name: title }).waitFor();
    expect(await page.locator(".topbar .who").innerText()).toContain("alpha");

    const cookies = await page.context().cookies();
    const cookie = cookies.find((c) => c.name === "ocmu_console");
    expect(cookie).toBeDefined();
    expect(cookie!.httpOnly).toBe(true);
    expect(cookie!.sameSite).toBe("Strict");
    expect(cookie!.path).toBe("/");
    const visible = await page.evaluate(() => ({ cookie: document.cookie, local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }), html: document.documentElement.outerHTML }));
    for (const v of Object.values(visible)) expect(v).not.toContain(w.tokens.alpha);
    expect(visible.cookie).not.toContain("ocmu_console");
  }, 60_000);

  test("chat: the answer streams and the tool step shows while the turn runs; the history is kept", async () => {
    await w.core.files.write(scope("alpha"), "notes.txt", new TextEncoder().encode("the secret word is pelican\n"));
    w.fake.script([
      { text: "Let me read your notes.", toolCalls: [{ id: "call_read", name: "file_read", arguments: { path: "notes.txt" } }] },
      // The second model call waits: the tool step must be on the page before the turn ends.
      { text: "Your notes say: pelican.", delayMs: 1500 },
    ]);
    await openPage(page, "chat");
    await page.getByLabel("Message").fill("what is in my notes?");
    await page.getByRole("button", { name: "Send" }).click();
    const log = page.getByRole("log", { name: "Conversation" });
    await log.locator(".tool-step[data-step=result]").waitFor();
    // Seen while the run is still going (its answer is 1.5 s away).
    expect(await log.getByText("Your notes say: pelican.").count()).toBe(0);
    expect(await log.getByRole("status").innerText()).toContain("working");
    expect(await log.locator(".tool-step[data-step=call]").innerText()).toContain("file_read");
    expect(await log.locator(".tool-step[data-step=result]").innerText()).toContain("pelican");
    await log.getByText("Your notes say: pelican.").waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor();
    expect(await log.getAttribute("aria-live")).toBe("polite");
    await checkPage("tenant-chat");

    // The turn went through the tenant's own session, and a reload shows it from the transcript.
    await page.reload();
    await page.getByRole("log", { name: "Conversation" }).getByText("Your notes say: pelican.").waitFor();
    expect(await page.getByRole("log", { name: "Conversation" }).locator(".tool-step").count()).toBe(2);
  }, 60_000);

  test("sessions: the list and a session's history", async () => {
    await openPage(page, "sessions");
    const table = page.getByRole("table");
    await table.locator("code", { hasText: /^console$/ }).waitFor();
    await page.getByRole("button", { name: "History of console" }).click();
    await page.getByRole("region", { name: "History of console" }).getByText("what is in my notes?").waitFor();
    await checkPage("tenant-sessions");
  }, 60_000);

  test("files: upload, view, download and delete through files.*", async () => {
    await openPage(page, "files");
    await page.getByRole("table").or(page.getByText("This folder is empty.")).first().waitFor();
    const content = `uploaded from the browser ${crypto.randomUUID()}\n`;
    await page.getByLabel("Upload to the workspace").setInputFiles({ name: "upload.txt", mimeType: "text/plain", buffer: Buffer.from(content) });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "Uploaded upload.txt" }).waitFor();
    // It is in the tenant's workspace, byte for byte.
    expect(new TextDecoder().decode(w.core.files.read(scope("alpha"), "upload.txt").bytes)).toBe(content);

    await page.getByRole("button", { name: "upload.txt", exact: true }).click();
    await page.getByRole("region", { name: "Contents of upload.txt" }).getByText(content.trim()).waitFor();
    await checkPage("tenant-files");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download upload.txt" }).click()]);
    expect(download.suggestedFilename()).toBe("upload.txt");
    const saved = path.join(path.dirname(await screenshot(page, "tenant-files-download")), "downloaded-upload.txt");
    await download.saveAs(saved);
    expect(fs.readFileSync(saved, "utf8")).toBe(content);

    await page.getByRole("button", { name: "Delete upload.txt" }).click();
    await page.getByRole("button", { name: "Delete upload.txt" }).click(); // the confirmation
    await page.getByRole("button", { name: "upload.txt", exact: true }).waitFor({ state: "detached" });
    expect(() => w.core.files.read(scope("alpha"), "upload.txt")).toThrow();
  }, 60_000);

  test("usage: per-day chart with the chat's cost, per-model chart and quota status", async () => {
    await openPage(page, "usage");
    const chart = page.getByRole("img", { name: /^Tokens per day:/ });
    await chart.waitFor();
    const bars = await chart.locator("rect.bar").evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("height"))));
    expect(bars.length).toBeGreaterThanOrEqual(28);
    expect(bars.at(-1)!).toBeGreaterThan(0); // today's turn
    await page.getByRole("img", { name: /^Cost this month per model: gpt-4o-mini/ }).waitFor();
    await page.getByRole("table", { name: "Limits and use today" }).getByText("tokensPerDay").waitFor();
    await checkPage("tenant-usage");
  }, 60_000);

  test("terminal: `echo hi` in the sandbox's shell comes back", async () => {
    await openPage(page, "terminal");
    await page.getByText(/^Connected/).waitFor({ timeout: 30_000 });
    await page.locator(".terminal-box .xterm").click();
    await page.keyboard.type("echo hi\n");
    const rows = page.locator(".terminal-box .xterm-rows");
    expect(await until(async () => (await rows.innerText()).split("\n").map((l) => l.trim()), (lines) => lines.includes("hi"))).toContain("hi");
    // Fast typing (each key its own event, far above the WebSocket's 50 frames a second) loses nothing:
    // the page joins keystrokes, and the shell counts every character it got.
    await page.keyboard.type("clear; printf %s '" + "k".repeat(120) + "' | wc -c\n");
    expect(await until(async () => (await rows.innerText()).split("\n").map((l) => l.trim()), (lines) => lines.includes("120"))).toContain("120");
    // xterm's theme and cell sizes reached the page without an inline <style> (the CSP refuses those):
    // its rows are laid out at a line's height, and no refusal was logged.
    const layout = await page.evaluate(() => ({
      adopted: document.adoptedStyleSheets.length,
      inlineStyles: document.querySelectorAll("style").length,
      rowHeight: (document.querySelector(".xterm-rows > div") as { getBoundingClientRect(): { height: number } } | null)?.getBoundingClientRect().height ?? 0,
    }));
    expect(problems(page)).toEqual([]);
    expect(layout.rowHeight).toBeGreaterThan(8);
    expect(layout.inlineStyles).toBe(0);
    expect(layout.adopted).toBeGreaterThan(0);
    await checkPage("tenant-terminal");
    await page.getByRole("button", { name: "Close terminal" }).click();
    await page.getByText("No terminal open.").waitFor();
  }, 60_000);

  test("phone width (375 px): the menu opens, every page fits and passes axe", async () => {
    const phone = await w.newPage({ width: 375, height: 740 });
    await signIn(phone, w.tokens.alpha);
    for (const id of ["chat", "sessions", "files", "usage"]) {
      await openPage(phone, id);
      await phone.waitForTimeout(300);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ id, overflow }).toEqual({ id, overflow: 0 });
      await checkPage(`tenant-phone-${id}`, phone);
    }
    await phone.getByRole("button", { name: "Menu" }).click();
    await phone.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Files" }).click();
    await phone.locator("main h1", { hasText: "Files" }).waitFor();
    expect(problems(phone)).toEqual([]);
  }, 60_000);

  test("no page logged an error (nothing refused by the CSP); sign-out ends the session", async () => {
    expect(problems(page)).toEqual([]);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Token or admin key").waitFor();
    expect((await page.context().cookies()).find((c) => c.name === "ocmu_console")).toBeUndefined();
    const after = await page.evaluate(() => fetch("/ui/api/session").then((r) => r.status));
    expect(after).toBe(401);
  }, 60_000);

  test("a session ended on the gateway (the token rotated) sends the open page back to sign-in", async () => {
    const other = await w.newPage();
    await signIn(other, w.tokens.beta);
    await openPage(other, "chat");
    await other.getByRole("log", { name: "Conversation" }).waitFor();
    w.core.tenants.rotateToken(scope("beta"), 0, operatorCtx);
    // The open WebSocket is closed by the gateway; the page finds its session gone and asks to sign in.
    await other.getByLabel("Token or admin key").waitFor();
    expect(await other.evaluate(() => fetch("/ui/api/session").then((r) => r.status))).toBe(401);
  }, 60_000);
});
