// Drives upstream's Control UI in headless Chromium with playwright-core, under upstream's Node 24
// (playwright-core is one of the openclaw package's own dependencies, so it comes with the pinned
// install). Run by tests/clients/openclaw-control-ui.test.ts, which serves the UI and the gateway:
//   node control-ui-driver.mjs '<json: {playwright, chromium, pageUrl, gatewayHost, message, reply, screenshot, timeoutMs}>'
// Prints one JSON line: {ok, step, error?, text?, console[]}. `step` names the last step reached, so a
// failure says exactly where the UI stopped.
import { createRequire } from "node:module";

const opts = JSON.parse(process.argv[2]);
const require = createRequire(opts.playwright);
const { chromium } = require("playwright-core");

const out = { ok: false, step: "launch", console: [] };
const log = (s) => out.console.length < 200 && out.console.push(String(s).slice(0, 500));
let browser;
try {
  browser = await chromium.launch({ executablePath: opts.chromium, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => log(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log(`pageerror: ${e.message}`));
  // (The frames themselves are recorded by the test's tap between the browser and the gateway.)
  page.on("websocket", (ws) => {
    log(`websocket open ${ws.url()}`);
    ws.on("close", () => log(`websocket closed ${ws.url()}`));
  });
  out.step = "open page";
  await page.goto(opts.pageUrl, { waitUntil: "domcontentloaded", timeout: opts.timeoutMs });

  // The UI asks before it switches to a gateway named in the URL.
  out.step = "confirm the gateway switch";
  const sw = page.getByRole("button", { name: new RegExp(`Switch to ${opts.gatewayHost.replace(/[.]/g, "\\.")}`) });
  await sw.click({ timeout: opts.timeoutMs });

  out.step = "chat input ready";
  // The composer (the UI itself waits for this element before it reports the chat route ready).
  const input = page.locator(".agent-chat__composer-combobox > textarea").first();
  await input.waitFor({ state: "visible", timeout: opts.timeoutMs });

  out.step = "send the message";
  const replies = page.getByText(opts.reply);
  const before = await replies.count();
  await input.fill(opts.message);
  await input.press("Enter");

  out.step = "reply rendered";
  const deadline = Date.now() + opts.timeoutMs;
  while ((await replies.count()) <= before) {
    if (Date.now() > deadline) throw new Error(`the reply "${opts.reply}" did not appear within ${opts.timeoutMs} ms`);
    await page.waitForTimeout(200);
  }
  // Let the UI reconcile its optimistic message with the server's (history poll, session.message).
  await page.waitForTimeout(opts.settleMs ?? 3000);
  out.text = (await page.locator("body").innerText()).slice(0, 4000);
  out.step = "screenshot";
  await page.screenshot({ path: opts.screenshot, fullPage: true });
  out.ok = true;
  out.step = "done";
} catch (e) {
  out.error = String(e?.message ?? e).slice(0, 2000);
  try {
    const pages = browser?.contexts()[0]?.pages() ?? [];
    if (pages[0]) {
      out.text = (await pages[0].locator("body").innerText()).slice(0, 4000);
      await pages[0].screenshot({ path: opts.screenshot.replace(/\.png$/, "-failed.png"), fullPage: true });
    }
  } catch {}
} finally {
  await browser?.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(out)}\n`);
