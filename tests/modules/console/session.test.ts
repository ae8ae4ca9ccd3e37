// The web console's sign-in (POST/GET/DELETE /ui/api/session) and the life of its cookie sessions:
// identical throttled failures, the cookie's flags, server-side sign-out, and every way a session ends
// (token rotation, suspend, delete, admin key rotation, the cap, the idle limit, a restore).
import { describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { backedUp } from "../../../src/db/tenant-rows.ts";
import { adminKey, createTenant, operatorCtx, scope } from "../../helpers/core.ts";
import { consoleWorlds, rpcByCookie, signIn } from "./helpers.ts";

const world = consoleWorlds();
const rows = (w: { core: any }, tenantId?: string) =>
  (tenantId === undefined ? w.core.handle.sqlite.query("SELECT * FROM console_sessions").all() : w.core.handle.sqlite.query("SELECT * FROM console_sessions WHERE tenant_id = ?1").all(tenantId)) as any[];
const getSession = (base: string, cookie: string) => fetch(`${base}/ui/api/session`, { headers: { cookie } });

describe("sign-in", () => {
  test("a tenant token signs in: the body, the cookie, and only the cookie's hash stored", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    expect(s.status).toBe(200);
    expect(Object.keys(s.body).sort()).toEqual(["csrfToken", "expiresAt", "kind", "pages", "tenantId"]);
    expect(s.body.kind).toBe("tenant");
    expect(s.body.tenantId).toBe("alpha");
    expect(s.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(s.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(43_200_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(43_200_000);
    expect(s.body.pages.map((p: any) => p.id).slice(0, 5)).toEqual(["chat", "sessions", "files", "usage", "terminal"]);
    expect(s.body.pages.every((p: any) => p.face === "tenant")).toBe(true);
    const orders = s.body.pages.map((p: any) => p.order);
    expect(orders).toEqual([...orders].sort((a: number, b: number) => a - b));
    const value = s.cookie.split("=")[1]!;
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = rows(w, "alpha");
    expect(stored.length).toBe(1);
    expect(stored[0].id).toBe(crypto.createHash("sha256").update(value).digest("hex"));
    expect(JSON.stringify(rows(w))).not.toContain(value);
    expect(w.core.audit.query({ action: "console.signin", tenant: "alpha" }).length).toBe(1);
  });

  test("the admin key signs in to the operator face", async () => {
    const w = world();
    const s = await signIn(w.base, { adminKey: adminKey(w.core) });
    expect(s.status).toBe(200);
    expect(s.body.kind).toBe("admin");
    expect(s.body.tenantId).toBeUndefined();
    expect(s.body.pages.map((p: any) => p.id).slice(0, 4)).toEqual(["tenants", "usage-all", "audit", "system"]);
    expect(s.body.pages.every((p: any) => p.face === "operator")).toBe(true);
  });

  test("the cookie is HttpOnly, SameSite=Strict, Path=/; Secure only over TLS from a trusted proxy, or when configured", async () => {
    const plain = world();
    const s = await signIn(plain.base, { token: plain.a });
    const flags = s.setCookie!.split(";").map((x) => x.trim());
    expect(flags).toContain("HttpOnly");
    expect(flags).toContain("SameSite=Strict");
    expect(flags).toContain("Path=/");
    expect(flags).toContain("Max-Age=43200");
    expect(flags).not.toContain("Secure");
    // X-Forwarded-Proto from a peer that is not a trusted proxy is not believed.
    expect((await signIn(plain.base, { token: plain.a }, { "x-forwarded-proto": "https" })).setCookie).not.toContain("Secure");
    const proxied = world({ trustedProxies: ["127.0.0.1"] });
    expect((await signIn(proxied.base, { token: proxied.a }, { "x-forwarded-proto": "https" })).setCookie!.split("; ")).toContain("Secure");
    expect((await signIn(proxied.base, { token: proxied.a })).setCookie).not.toContain("Secure");
    const always = world({ console: { secureCookie: "always" } });
    expect((await signIn(always.base, { token: always.a })).setCookie!.split("; ")).toContain("Secure");
  });

  test("every failed sign-in is the one identical 401, throttled like API auth (429 + Retry-After)", async () => {
    const w = world({ authThrottle: { perIpMaxFailures: 6, perIpTenantMaxFailures: 100 } });
    const key = adminKey(w.core);
    const wrong = [
      { token: `${w.a.slice(0, -4)}AAAA` }, // alpha's id, wrong secret
      { token: "ocmu_nobody_0000000000000000000000000000" },
      { token: "not a token" },
      { adminKey: `${key.slice(0, -4)}AAAA` },
      { adminKey: w.a }, // a tenant token is no admin key
    ];
    const answers = [];
    for (const body of wrong) answers.push(await signIn(w.base, body));
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.setCookie).toBeNull();
    }
    // Identical but for the request id (the control plane's 401 carries one, as the API's does).
    const norm = (t: string) => t.replace(/req_[0-9a-f]{32}/, "REQ");
    expect(new Set(answers.map((a) => norm(a.text))).size).toBe(1);
    expect(answers[0]!.body.error.code).toBe("UNAUTHORIZED");
    // The same body as the API's own 401.
    const api = await fetch(`${w.base}/admin/v1/tenants`, { headers: { authorization: "Bearer wrong" } });
    expect(norm(await api.text())).toBe(norm(answers[0]!.text));
    // The sixth failure trips the throttle; then even a right token is answered 429 from this address.
    await signIn(w.base, { token: "ocmu_nobody_0000000000000000000000000000" });
    const blocked = await fetch(`${w.base}/ui/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: "ocmu_nobody_0000000000000000000000000000" }) });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(rows(w).length).toBe(0);
  });

  test("a body that is neither {token} nor {adminKey} is a clear 400-class error, and signs nobody in", async () => {
    const w = world();
    for (const body of [{}, { token: w.a, adminKey: "x" }, { token: 5 }, [w.a]]) {
      const s = await signIn(w.base, body);
      expect(s.status).toBe(400);
      expect(s.body.error.message).toContain('{"token"');
      expect(s.setCookie).toBeNull();
    }
    expect(rows(w).length).toBe(0);
  });

  test("a sign-in from another site's page is refused (Origin)", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a }, { origin: "http://evil.example" });
    expect(s.status).toBe(403);
    expect(s.setCookie).toBeNull();
    expect(rows(w).length).toBe(0);
  });
});

describe("the session", () => {
  test("GET answers the cookie's session; no cookie or a made-up one is the 401", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const res = await getSession(w.base, s.cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual(s.body);
    expect((await fetch(`${w.base}/ui/api/session`)).status).toBe(401);
    expect((await getSession(w.base, `ocmu_console=${"A".repeat(43)}`)).status).toBe(401);
  });

  test("sign-out needs the CSRF token, deletes the session server-side and clears the cookie: the old cookie is refused", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const out = (csrf?: string) => fetch(`${w.base}/ui/api/session`, { method: "DELETE", headers: { cookie: s.cookie, ...(csrf ? { "x-csrf-token": csrf } : {}) } });
    expect((await out()).status).toBe(403);
    expect((await out("wrong")).status).toBe(403);
    expect(rows(w, "alpha").length).toBe(1);
    const res = await out(s.csrf);
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toContain("Max-Age=0");
    expect(rows(w, "alpha").length).toBe(0);
    // The browser may keep the cookie: the server does not.
    expect((await getSession(w.base, s.cookie)).status).toBe(401);
    expect((await rpcByCookie(w.base, s, "tenants.get")).status).toBe(401);
    expect(w.core.audit.query({ action: "console.signout", tenant: "alpha" }).length).toBe(1);
  });

  test("rotating the token ends its cookie sessions, even with a grace period for the old token", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    expect((await rpcByCookie(w.base, s, "tenants.get")).status).toBe(200);
    w.core.tenants.rotateToken(scope("alpha"), 3_600_000, operatorCtx);
    expect((await rpcByCookie(w.base, s, "tenants.get")).status).toBe(401);
    expect((await getSession(w.base, s.cookie)).status).toBe(401);
    expect(rows(w, "alpha").length).toBe(0);
    // The old token (still working as a bearer in its grace period) signs nobody in.
    expect((await signIn(w.base, { token: w.a })).status).toBe(401);
  });

  test("a rotation without grace drops the rows at once (onStop), before any use", async () => {
    const w = world();
    await signIn(w.base, { token: w.a });
    await signIn(w.base, { token: w.b });
    w.core.tenants.rotateToken(scope("alpha"), 0, operatorCtx);
    expect(rows(w, "alpha").length).toBe(0);
    expect(rows(w, "beta").length).toBe(1);
  });

  test("suspending the tenant ends its sessions (resuming does not bring them back)", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    expect(rows(w, "alpha").length).toBe(0);
    w.core.tenants.resume(scope("alpha"), operatorCtx);
    expect((await rpcByCookie(w.base, s, "tenants.get")).status).toBe(401);
    expect((await getSession(w.base, s.cookie)).status).toBe(401);
  });

  test("deleting the tenant ends its sessions; a new tenant of the same id is not signed in by them", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    expect(rows(w, "alpha").length).toBe(0);
    const again = createTenant(w.core, "alpha");
    expect((await rpcByCookie(w.base, s, "tenants.get")).status).toBe(401);
    expect((await signIn(w.base, { token: again })).status).toBe(200);
  });

  test("a session bound to an incarnation that is gone is refused even if its row survived", async () => {
    const w = world();
    const s = await signIn(w.base, { token: w.a });
    const row = rows(w, "alpha")[0];
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    createTenant(w.core, "alpha");
    // Put the row back as if the delete had missed it: the incarnation check alone must refuse it.
    const cols = Object.keys(row);
    w.core.handle.sqlite.query(`INSERT INTO console_sessions (${cols.join(", ")}) VALUES (${cols.map((_, i) => `?${i + 1}`).join(", ")})`).run(...cols.map((c) => row[c]));
    expect((await rpcByCookie(w.base, s, "tenants.get")).status).toBe(401);
  });

  test("rotating the admin key ends the admin's sessions", async () => {
    const w = world();
    const s = await signIn(w.base, { adminKey: adminKey(w.core) });
    const list = () => fetch(`${w.base}/admin/v1/tenants`, { headers: { cookie: s.cookie } });
    expect((await list()).status).toBe(200);
    adminKey(w.core); // rotates
    expect((await list()).status).toBe(401);
    expect((await getSession(w.base, s.cookie)).status).toBe(401);
    expect(rows(w).length).toBe(0);
  });

  test("the per-tenant cap ends the oldest session", async () => {
    const w = world({ console: { maxSessionsPerTenant: 2 } });
    const first = await signIn(w.base, { token: w.a });
    const second = await signIn(w.base, { token: w.a });
    const other = await signIn(w.base, { token: w.b });
    const third = await signIn(w.base, { token: w.a });
    expect((await getSession(w.base, first.cookie)).status).toBe(401);
    expect((await getSession(w.base, second.cookie)).status).toBe(200);
    expect((await getSession(w.base, third.cookie)).status).toBe(200);
    // Another tenant's sessions are not counted against it.
    expect((await getSession(w.base, other.cookie)).status).toBe(200);
    expect(rows(w, "alpha").length).toBe(2);
  });

  test("a session idle past the limit, or past its lifetime, is refused and deleted", async () => {
    const w = world({ console: { idleTimeoutSeconds: 60 } });
    const idle = await signIn(w.base, { token: w.a });
    const old = await signIn(w.base, { token: w.b });
    const sqlite = w.core.handle.sqlite;
    sqlite.query("UPDATE console_sessions SET last_used_at = ?1 WHERE tenant_id = 'alpha'").run(Date.now() - 61_000);
    sqlite.query("UPDATE console_sessions SET expires_at = ?1 WHERE tenant_id = 'beta'").run(Date.now() - 1);
    expect((await getSession(w.base, idle.cookie)).status).toBe(401);
    expect((await rpcByCookie(w.base, old, "tenants.get")).status).toBe(401);
    expect(rows(w).length).toBe(0);
  });

  test("a restore never resurrects a session: sessions are not in the backup, and the restored tenant's are gone", async () => {
    const w = world();
    const signedOut = await signIn(w.base, { token: w.a });
    const kept = await signIn(w.base, { token: w.a });
    expect(backedUp(w.core.tenantData.tables).map((t) => t.table)).not.toContain("console_sessions");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "console-backup-")), "alpha.tar.zst");
    await w.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
    const out = await fetch(`${w.base}/ui/api/session`, { method: "DELETE", headers: { cookie: signedOut.cookie, "x-csrf-token": signedOut.csrf } });
    expect(out.status).toBe(204);
    await w.core.backups.restore(file, operatorCtx, { force: true });
    // The same token hashes came back with the tenant; the sign-ins did not.
    expect((await rpcByCookie(w.base, { cookie: "", csrf: null }, "tenants.get", {}, { authorization: `Bearer ${w.a}` })).status).toBe(200);
    expect(rows(w, "alpha").length).toBe(0);
    expect((await getSession(w.base, signedOut.cookie)).status).toBe(401);
    expect((await getSession(w.base, kept.cookie)).status).toBe(401);
  });
});
