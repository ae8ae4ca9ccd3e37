// GET /admin/v1/audit/verify (the console's audit page) and GET /admin/v1/doctor (its system page):
// the same reports as `openclaw audit verify` and `openclaw doctor`, behind the admin key.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import { adminKey, createTenant, testApp, testCore } from "../../helpers/core.ts";

describe("audit verify and doctor over the admin API", () => {
  test("verify answers ok with the chain's extent, and names the first bad line once a record is edited", async () => {
    const core = testCore();
    for (const id of ["v1", "v2", "v3"]) createTenant(core, id);
    const app = testApp(core);
    const key = adminKey(core);
    const ok = await app.call("GET", "/admin/v1/audit/verify", { token: key });
    expect(ok.status).toBe(200);
    const head = core.audit.head();
    expect(ok.json).toMatchObject({ ok: true, firstSeq: 1, lastSeq: head.seq, lastHash: head.hash, files: ["audit.log"] });
    expect(ok.json.records).toBe(head.seq);

    const lines = fs.readFileSync(core.audit.file, "utf8").split("\n");
    lines[1] = lines[1]!.replace('"tenant.create"', '"tenant.delete"');
    fs.writeFileSync(core.audit.file, lines.join("\n"));
    const bad = await app.call("GET", "/admin/v1/audit/verify", { token: key });
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ ok: false, problem: { file: "audit.log", line: 2, seq: 2 } });
    core.close();
  });

  test("doctor answers its checks, the sandbox's among them", async () => {
    const core = testCore();
    const app = testApp(core);
    const r = await app.call("GET", "/admin/v1/doctor", { token: adminKey(core) });
    expect(r.status).toBe(200);
    const names = (r.json.checks as { name: string; status: string }[]).map((c) => c.name);
    for (const n of ["home", "database", "audit log", "bwrap", "seccomp", "disk"]) expect(names).toContain(n);
    expect(r.json.ok).toBe(r.json.checks.every((c: { status: string }) => c.status !== "fail"));
    core.close();
  }, 60_000);

  test("both need the admin key (a tenant token is the one 401)", async () => {
    const core = testCore();
    const token = createTenant(core, "t1");
    const app = testApp(core);
    for (const p of ["/admin/v1/audit/verify", "/admin/v1/doctor"]) {
      expect((await app.call("GET", p)).status).toBe(401);
      expect((await app.call("GET", p, { token })).status).toBe(401);
    }
    core.close();
  });
});
