// The plaintext of a token or admin key is shown once and is nowhere on disk afterwards: not in
// state.db, not in its WAL, not in the audit log, not in any tenant file.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { adminKey, allFiles, createTenant, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";

describe("no plaintext secret on disk", () => {
  test("after create, rotate (CLI, RPC, admin API) and admin-key rotate, while the database is open", async () => {
    const core = testCore();
    const secrets: string[] = [];
    secrets.push(createTenant(core, "acme"));
    secrets.push(core.tenants.rotateToken(scope("acme"), 3_600_000, operatorCtx).token);
    const key = adminKey(core);
    secrets.push(key);
    const { rpc, call } = testApp(core);
    secrets.push((await rpc(secrets[1]!, "tenants.rotate", { grace: "1h" })).result.token);
    secrets.push((await call("POST", "/admin/v1/tenants/acme/token/rotate", { token: key })).json.token);
    secrets.push((await call("POST", "/admin/v1/tenants", { token: key, body: { id: "beta" } })).json.token);
    expect(secrets.every((s) => /^ocmu_/.test(s))).toBe(true);
    const files = allFiles(core.home);
    const names = files.map((f) => path.basename(f));
    expect(names).toContain("state.db");
    expect(names).toContain("state.db-wal");
    expect(fs.statSync(path.join(core.home, "state.db-wal")).size).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const s of secrets) {
        for (const needle of [s, s.slice(-28), s.slice(-28, -6)]) {
          expect({ file: path.relative(core.home, f), found: bytes.includes(needle) }).toEqual({ file: path.relative(core.home, f), found: false });
        }
      }
    }
    core.close();
  });
});

describe("live tokens are bounded", () => {
  test("40 rotations with grace over RPC leave two live tokens: the newest and the one it replaced", async () => {
    // A burst of audited changes large enough for 40 rotations at once (the default is 30).
    const core = testCore({ config: { gateway: { limits: { tenantChangesBurst: 100 } } } });
    const tokens = [createTenant(core, "acme")];
    const { rpc } = testApp(core);
    for (let i = 0; i < 40; i++) {
      const r = await rpc(tokens.at(-1)!, "tenants.rotate", { grace: "1h" });
      expect(r.error).toBeUndefined();
      tokens.push(r.result.token);
    }
    const live = tokens.filter((t) => core.tokens.verify(t).ok);
    expect(live).toEqual(tokens.slice(-2));
    expect(core.tenants.get(scope("acme")).token.inGrace).toHaveLength(1);
    expect(core.handle.sqlite.query("SELECT count(*) AS n FROM tenant_tokens WHERE tenant_id = 'acme'").get()).toEqual({ n: 2 });
    // The rotation that ended a token in grace says so in its audit record.
    const last = core.audit.query({ action: "tenant.token.rotate", limit: 1 })[0]!;
    expect((last.details!.ended as string[]).length).toBe(1);
    // Without grace, only the new token is live.
    const r = core.tenants.rotateToken(scope("acme"), 0, operatorCtx);
    expect(tokens.filter((t) => core.tokens.verify(t).ok)).toEqual([]);
    expect(core.tokens.verify(r.token).ok).toBe(true);
    core.close();
  });
});
