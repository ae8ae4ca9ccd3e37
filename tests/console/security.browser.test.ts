// The console's cookie under attack, in a real browser: a page of another origin (another loopback
// port — the same site, so the SameSite=Strict cookie IS sent, and only the CSRF token and the Origin
// check stand in the way) submits forms and fetches to /rpc and /admin/v1 with the victim's cookie,
// and opens the /rpc WebSocket; all are refused and change nothing. Tenant A's cookie reads nothing of
// B's. The cookie is HttpOnly: script in the page cannot read it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrowserContext, Page, Request as PwRequest } from "playwright-core";
import { consoleWorld, signIn, type ConsoleWorld } from "./harness.ts";

let w: ConsoleWorld;
let attacker: ReturnType<typeof Bun.serve>;
let attackHtml = "";

beforeAll(async () => {
  w = await consoleWorld();
  // The attacker's site: whatever page the test sets, on another port of the same loopback address.
  attacker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(attackHtml, { headers: { "content-type": "text/html" } }) });
}, 60_000);
afterAll(async () => {
  attacker?.stop(true);
  await w?.close();
});

const bearer = (token: string, method: string, params: object = {}) =>
  fetch(`${w.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) }).then((r) => r.json() as Promise<any>);

interface Sent {
  url: string;
  cookieSent: boolean;
  origin: string | undefined;
  /** The gateway's status when the browser let the page see it (a form's navigation); null when the browser
   * blocked the answer from the other origin (Cross-Origin-Resource-Policy) — it was still sent and answered. */
  status: number | null;
}

/** Serves `body` as the attacker's page, opens it in the victim's context, and collects the requests it made to the gateway. */
async function attack(ctx: BrowserContext, body: string, expected: number): Promise<Sent[]> {
  attackHtml = `<!doctype html><html><body>${body}</body></html>`;
  const done: Promise<Sent>[] = [];
  const on = (r: PwRequest) => {
    if (!r.url().startsWith(w.url)) return;
    done.push(
      (async () => {
        const h = await r.allHeaders();
        const res = await r.response().catch(() => null);
        return { url: r.url().slice(w.url.length), cookieSent: (h.cookie ?? "").includes("ocmu_console="), origin: h.origin, status: res ? res.status() : null };
      })(),
    );
  };
  const p = await ctx.newPage();
  p.on("request", on);
  await p.goto(attacker.url.href);
  const deadline = Date.now() + 15_000;
  while (done.length < expected && Date.now() < deadline) await Bun.sleep(50);
  const sent = await Promise.all(done);
  await p.close();
  return sent;
}

/** A JSON body smuggled in a text/plain form: name + "=" + value is the JSON text. */
function jsonForm(action: string, json: object, target: string): string {
  const text = JSON.stringify({ ...json, pad: "" });
  const cut = text.lastIndexOf('""');
  return `<iframe name="${target}"></iframe><form method="POST" action="${action}" enctype="text/plain" target="${target}"><input name='${text.slice(0, cut + 1)}' value='"}'></form>`;
}

async function signedIn(secret: string): Promise<Page> {
  const page = await w.newPage();
  await signIn(page, secret);
  return page;
}

/** A JSON-RPC call from the console's own page, as its code makes one (cookie + CSRF token). */
async function ownCall(page: Page, method: string, params: object): Promise<any> {
  return page.evaluate(
    async ([method, params]) => {
      const s = (await (await fetch("/ui/api/session")).json()) as { csrfToken: string };
      const r = await fetch("/rpc", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": s.csrfToken }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
      return r.json();
    },
    [method, params] as const,
  );
}

describe("console security in the browser", () => {
  test("CSRF on /rpc from another origin (form and fetch, with the victim's cookie) is refused and writes nothing", async () => {
    const victim = await signedIn(w.tokens.alpha);
    const write = (path: string) => ({ jsonrpc: "2.0", id: 1, method: "files.write", params: { path, content: "pwned" } });
    const answers = await attack(
      victim.context(),
      `${jsonForm(`${w.url}/rpc`, write("pwned-form.txt"), "f1")}
       <script>
         document.forms[0].submit();
         fetch(${JSON.stringify(`${w.url}/rpc`)}, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: ${JSON.stringify(JSON.stringify(write("pwned-fetch.txt")))} });
       </script>`,
      2,
    );
    expect(answers.length).toBe(2);
    // The form's answer is seen: the cookie went with it (same site), and the gateway said 403. The
    // fetch's answer the browser withholds from the other origin (and with it what it sent): what it
    // did is judged by its effect — nothing written.
    expect(answers.filter((a) => a.status === 403)).toEqual([{ url: "/rpc", cookieSent: true, origin: attacker.url.origin, status: 403 }]);
    expect(answers.filter((a) => a.status !== 403)).toEqual([expect.objectContaining({ url: "/rpc", status: null })]);
    for (const path of ["pwned-form.txt", "pwned-fetch.txt"]) expect({ path, code: (await bearer(w.tokens.alpha, "files.stat", { path })).error?.data?.code }).toEqual({ path, code: "NOT_FOUND" });
    // The control: the console's own page, with the CSRF token, writes with the same cookie.
    expect((await ownCall(victim, "files.write", { path: "own.txt", content: "mine" })).result).toBeDefined();
    expect((await bearer(w.tokens.alpha, "files.stat", { path: "own.txt" })).result).toBeDefined();
  }, 60_000);

  test("CSRF on /admin/v1 from another origin (form and fetch, with the admin's cookie) is refused and creates nothing", async () => {
    const admin = await signedIn(w.adminKey);
    const answers = await attack(
      admin.context(),
      `<iframe name="f2"></iframe><form method="POST" action="${w.url}/admin/v1/tenants" target="f2"><input name="id" value="evil-form"></form>
       ${jsonForm(`${w.url}/admin/v1/tenants`, { id: "evil-plain" }, "f3")}
       <script>
         document.forms[0].submit();
         document.forms[1].submit();
         fetch(${JSON.stringify(`${w.url}/admin/v1/tenants`)}, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: '{"id":"evil-fetch"}' });
       </script>`,
      3,
    );
    expect(answers.length).toBe(3);
    const refused = { url: "/admin/v1/tenants", cookieSent: true, origin: attacker.url.origin, status: 403 };
    expect(answers.filter((a) => a.status === 403)).toEqual([refused, refused]);
    expect(answers.filter((a) => a.status !== 403)).toEqual([expect.objectContaining({ url: "/admin/v1/tenants", status: null })]);
    for (const id of ["evil-form", "evil-plain", "evil-fetch"]) expect(w.core.tenants.list().some((t) => t.tenantId === id)).toBe(false);
  }, 60_000);

  test("a WebSocket to /rpc opened by another origin's page is refused; the console's own opens", async () => {
    const victim = await signedIn(w.tokens.alpha);
    const open = `new Promise((resolve) => { const ws = new WebSocket(${JSON.stringify(`${w.url.replace("http", "ws")}/rpc`)}); ws.onopen = () => { ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tenants.get", params: {} })); }; ws.onmessage = (e) => resolve("answered " + e.data); ws.onerror = () => resolve("refused"); ws.onclose = () => resolve("refused"); })`;
    attackHtml = "<!doctype html><title>elsewhere</title>";
    const evil = await victim.context().newPage();
    await evil.goto(attacker.url.href);
    expect(await evil.evaluate(open)).toBe("refused");
    const own = String(await victim.evaluate(open));
    expect(own).toStartWith("answered ");
    expect(own).toContain('"tenantId":"alpha"');
    // The same cookie outside a browser: only the Origin differs between the two.
    const cookie = (await victim.context().cookies()).find((c) => c.name === "ocmu_console")!;
    const tryWs = (origin: string) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`${w.url.replace("http", "ws")}/rpc`, { headers: { cookie: `ocmu_console=${cookie.value}`, origin } } as any);
        ws.onopen = () => (ws.close(), resolve("open"));
        ws.onerror = () => resolve("refused");
        ws.onclose = () => resolve("refused");
      });
    expect(await tryWs(attacker.url.origin)).toBe("refused");
    expect(await tryWs(w.url)).toBe("open");
  }, 60_000);

  test("tenant A's cookie reads nothing of B's: B's tenantId is NOT_FOUND, B's sessions and files are not listed", async () => {
    await w.core.files.write((await import("../helpers/core.ts")).scope("beta"), "beta-secret.txt", new TextEncoder().encode("beta only\n"));
    w.fake.script([{ text: "beta's answer" }]);
    const sent = await bearer(w.tokens.beta, "chat.send", { sessionKey: "beta-private", message: "hello" });
    expect(sent.result.runId).toBeDefined();
    await bearer(w.tokens.beta, "chat.wait", { runId: sent.result.runId });
    expect(JSON.stringify((await bearer(w.tokens.beta, "sessions.list")).result.sessions)).toContain("beta-private");

    const a = await signedIn(w.tokens.alpha);
    for (const [method, params] of [
      ["files.list", { tenantId: "beta" }],
      ["files.read", { tenantId: "beta", path: "beta-secret.txt" }],
      ["sessions.list", { tenantId: "beta" }],
      ["sessions.get", { tenantId: "beta", sessionKey: "beta-private" }],
      ["cron.list", { tenantId: "beta" }],
      ["channels.list", { tenantId: "beta" }],
      ["skills.list", { tenantId: "beta" }],
      ["tenants.usage", { tenantId: "beta" }],
    ] as const) {
      const r = await ownCall(a, method, params);
      expect({ method, code: r.error?.data?.code }).toEqual({ method, code: "NOT_FOUND" });
    }
    const sessions = await ownCall(a, "sessions.list", {});
    expect(JSON.stringify(sessions.result)).not.toContain("beta-private");
    expect((await ownCall(a, "sessions.get", { sessionKey: "beta-private" })).error?.data?.code).toBe("NOT_FOUND");
    const files = await ownCall(a, "files.list", {});
    expect(JSON.stringify(files.result)).not.toContain("beta-secret");
    expect((await ownCall(a, "files.read", { path: "beta-secret.txt" })).error?.data?.code).toBe("NOT_FOUND");
    // Nor the admin API: a tenant's cookie is not an admin session.
    const admin = await a.evaluate(async () => (await fetch("/admin/v1/tenants")).status);
    expect(admin).toBe(401);
  }, 60_000);

  test("the session cookie is HttpOnly and SameSite=Strict: document.cookie never shows it", async () => {
    for (const secret of [w.tokens.alpha, w.adminKey]) {
      const p = await signedIn(secret);
      const cookie = (await p.context().cookies()).find((c) => c.name === "ocmu_console");
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
      expect(await p.evaluate("document.cookie")).not.toContain("ocmu_console");
      expect(await p.evaluate("document.cookie")).not.toContain(cookie!.value);
    }
  }, 60_000);
});
