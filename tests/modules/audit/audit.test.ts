// The audit log: hash chain, verification against every kind of tampering, fail-closed writes, and
// records that survive crashes and log rotation.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { buildRecord, computeHash, recordLine, type AuditRecord } from "../../../src/modules/audit/audit.record.ts";
import { discoverLogFiles, verifyAuditFiles } from "../../../src/modules/audit/audit.verify.ts";
import { canonicalJson } from "../../../src/lib/canonical-json.ts";
import { createTenant, makeHome, operatorCtx, testCore, scope } from "../../helpers/core.ts";
import { cli } from "../../helpers/cli.ts";

function coreWithHistory(n = 6) {
  const core = testCore();
  for (let i = 0; i < n; i++) createTenant(core, `t${i}`);
  core.tenants.suspend(scope("t0"), operatorCtx);
  core.tenants.rotateToken(scope("t1"), 0, operatorCtx);
  return core;
}

const lines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
const writeLines = (file: string, ls: string[]) => fs.writeFileSync(file, ls.map((l) => `${l}\n`).join(""));

function tamperedCopy(core: ReturnType<typeof testCore>, edit: (ls: string[]) => string[]): string {
  const copy = path.join(makeHome(), "audit.log");
  writeLines(copy, edit(lines(core.audit.file)));
  return copy;
}

describe("audit chain", () => {
  test("every change is one chained record with the contract's fields and no secret", () => {
    const core = testCore();
    const token = createTenant(core, "acme");
    const rotated = core.tenants.rotateToken(scope("acme"), 0, operatorCtx).token;
    core.tenants.setQuota(scope("acme"), { tokensPerDay: 5 }, operatorCtx);
    core.tenants.suspend(scope("acme"), operatorCtx);
    core.tenants.resume(scope("acme"), operatorCtx);
    core.tenants.update(scope("acme"), { displayName: "Acme" }, operatorCtx);
    core.tenants.remove(scope("acme"), operatorCtx);
    const recs = lines(core.audit.file).map((l) => JSON.parse(l) as AuditRecord);
    expect(recs.map((r) => r.action)).toEqual(["tenant.create", "tenant.token.rotate", "tenant.quota.set", "tenant.suspend", "tenant.resume", "tenant.update", "tenant.delete"]);
    recs.forEach((r, i) => {
      expect(r.seq).toBe(i + 1);
      expect(r.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(r.actor).toEqual({ kind: "operator", id: "test" });
      expect(r.target).toEqual({ type: "tenant", id: "acme" });
      expect(r.outcome).toBe("ok");
      expect(r.requestId).toBe("req_test");
      expect(r.prev).toBe(i === 0 ? "0".repeat(64) : recs[i - 1]!.hash);
      const { hash, ...body } = r;
      expect(computeHash(body)).toBe(hash);
    });
    const text = fs.readFileSync(core.audit.file, "utf8");
    expect(text).not.toContain(token);
    expect(text).not.toContain(rotated);
    expect(recs[1]!.details).toMatchObject({ previous: [expect.stringMatching(/^tok:[0-9a-f]{12}$/)], next: expect.stringMatching(/^tok:[0-9a-f]{12}$/) });
    expect(verifyAuditFiles([core.audit.file], { anchor: core.audit, liveFile: core.audit.file })).toMatchObject({ ok: true, records: 7, firstSeq: 1, lastSeq: 7 });
    expect(fs.statSync(core.audit.file).mode & 0o777).toBe(0o600);
    core.close();
  });

  test("token-shaped strings never reach a record, and cannot suppress one", () => {
    const token = "ocmu_acme_000SYW7RiJxkEgOGusQGwp1HRH4J";
    const rec = buildRecord({ actor: { kind: "admin", id: "adm:x" }, action: "x", target: { type: "route", id: `GET /admin/v1/${token}` }, requestId: "r", details: { leaked: [`a ${token} b`] } }, 1, 0, "0".repeat(64));
    const line = recordLine(rec);
    expect(line).not.toContain(token);
    expect(rec.target!.id).toBe("GET /admin/v1/[redacted]");
    expect(rec.details).toEqual({ leaked: ["a [redacted] b"] });
    const forged = { ...rec, details: { leaked: token } };
    expect(() => recordLine(forged)).toThrow(/token/);
  });
});

describe("audit verify finds tampering", () => {
  const cases: [string, (ls: string[]) => string[], RegExp, number][] = [
    ["an edited field", (ls) => ls.map((l, i) => (i === 3 ? l.replace('"tenant.create"', '"tenant.update"') : l)), /hash does not match/, 4],
    ["a flipped byte in the hash", (ls) => ls.map((l, i) => (i === 2 ? l.replace(/"hash":"(.)/, (_m, c) => `"hash":"${c === "a" ? "b" : "a"}`) : l)), /hash does not match/, 3],
    ["whitespace added", (ls) => ls.map((l, i) => (i === 1 ? l.replace(",", ", ") : l)), /hash does not match/, 2],
    ["a deleted line", (ls) => ls.filter((_, i) => i !== 2), /missing \(deleted\)/, 4],
    ["two swapped lines", (ls) => [ls[0]!, ls[2]!, ls[1]!, ...ls.slice(3)], /missing|reordered/, 3],
    ["a duplicated line", (ls) => [...ls.slice(0, 3), ls[2]!, ...ls.slice(3)], /reordered or duplicated|repeats/, 3],
    ["a truncated last line", (ls) => [...ls.slice(0, -1), ls.at(-1)!.slice(0, 40)], /not valid JSON|incomplete/, 8],
    ["garbage inserted", (ls) => [...ls.slice(0, 2), "not json", ...ls.slice(2)], /not valid JSON/, 3],
    ["the first line removed", (ls) => ls.slice(1), /began at seq 1 \(state.db\): records 1\.\.1 were removed, not rotated away/, 2],
  ];

  test.each(cases)("%s", (_name, edit, message, seqOrLine) => {
    const core = coreWithHistory();
    const copy = tamperedCopy(core, edit);
    const report = verifyAuditFiles([copy], { anchor: core.audit, liveFile: copy });
    expect(report.ok).toBe(false);
    expect(report.problem!.message).toMatch(message);
    expect(report.problem!.line === seqOrLine || report.problem!.seq === seqOrLine).toBe(true);
    core.close();
  });

  test("truncation of whole records at the end is caught against state.db", () => {
    const core = coreWithHistory();
    const copy = tamperedCopy(core, (ls) => ls.slice(0, -2));
    expect(verifyAuditFiles([copy], {}).ok).toBe(true); // the file alone cannot know
    const report = verifyAuditFiles([copy], { anchor: core.audit, liveFile: copy });
    expect(report.ok).toBe(false);
    expect(report.problem!.message).toMatch(/ends at seq 6, but state.db has committed records up to seq 8/);
    core.close();
  });

  test("an edit re-chained with recomputed hashes is caught against state.db", () => {
    const core = coreWithHistory();
    const copy = tamperedCopy(core, (ls) => {
      const recs = ls.map((l) => JSON.parse(l) as AuditRecord);
      recs[2]!.action = "tenant.update";
      let prev = recs[1]!.hash;
      for (const r of recs.slice(2)) {
        r.prev = prev;
        const { hash: _h, ...body } = r;
        r.hash = computeHash(body);
        prev = r.hash;
      }
      return recs.map((r) => canonicalJson(r));
    });
    expect(verifyAuditFiles([copy]).ok).toBe(true); // internally consistent…
    const report = verifyAuditFiles([copy], { anchor: core.audit });
    expect(report.ok).toBe(false); // …but not what was committed
    expect(report.problem).toMatchObject({ seq: 3, message: expect.stringMatching(/differs from the record committed/) });
    core.close();
  });

  test("the CLI exits 1 and names the first bad line", async () => {
    const core = coreWithHistory();
    const home = core.home;
    const file = core.audit.file;
    writeLines(file, lines(file).filter((_, i) => i !== 4));
    core.close();
    const r = await cli(home, ["audit", "verify", "--home", home]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/audit\.log:5: seq 6: seq 6 follows seq 4: 1 record\(s\) missing \(deleted\)/);
  });
});

describe("audit fails closed", () => {
  test("an unwritable log refuses tenant create and changes nothing", () => {
    const home = makeHome();
    const core = testCore({ home, config: { audit: { path: "/dev/full" } } });
    expect(() => core.tenants.create({ id: "acme" }, operatorCtx)).toThrow(/audit log cannot be written/);
    expect(core.tenants.exists("acme")).toBe(false);
    expect(fs.existsSync(path.join(home, "tenants", "acme"))).toBe(false);
    const counts = core.handle.sqlite.query("SELECT (SELECT count(*) FROM tenants) t, (SELECT count(*) FROM tenant_tokens) k, (SELECT count(*) FROM audit_events) a").get();
    expect(counts).toEqual({ t: 0, k: 0, a: 0 });
    core.close();
  });

  test("a log path that cannot be opened refuses delete and keeps the tenant and its files", () => {
    const home = makeHome();
    const core = testCore({ home });
    createTenant(core, "acme");
    fs.writeFileSync(path.join(core.tenants.dir(scope("acme")), "workspace", "keep.txt"), "data");
    core.close();
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ audit: { path: "blocked/audit.log" } }));
    fs.writeFileSync(path.join(home, "blocked-file"), "");
    fs.symlinkSync(path.join(home, "blocked-file"), path.join(home, "blocked"));
    expect(() => testCore({ home })).toThrow(); // the directory for the log cannot even be created
    fs.rmSync(path.join(home, "blocked"));
    fs.mkdirSync(path.join(home, "blocked"));
    const core2 = testCore({ home });
    fs.rmSync(path.join(home, "blocked"), { recursive: true });
    fs.writeFileSync(path.join(home, "blocked"), "not a directory");
    expect(() => core2.tenants.remove(scope("acme"), operatorCtx)).toThrow(/audit log cannot be written/);
    expect(core2.tenants.exists("acme")).toBe(true);
    expect(fs.readFileSync(path.join(home, "tenants", "acme", "workspace", "keep.txt"), "utf8")).toBe("data");
    core2.close();
  });

  test("a record left uncommitted by a crash is adopted and flagged, and the chain continues", () => {
    const core = coreWithHistory(2);
    const head = core.audit.head();
    const orphan = buildRecord({ actor: { kind: "operator", id: "test" }, action: "tenant.create", target: { type: "tenant", id: "ghost" }, requestId: "req_crash" }, head.seq + 1, Date.now(), head.hash);
    fs.appendFileSync(core.audit.file, `${recordLine(orphan)}\n`);
    expect(verifyAuditFiles([core.audit.file], { anchor: core.audit, liveFile: core.audit.file }).warnings.join()).toMatch(/not in state.db/);
    createTenant(core, "after");
    const recs = lines(core.audit.file).map((l) => JSON.parse(l) as AuditRecord);
    expect(recs.map((r) => r.action).slice(-3)).toEqual(["tenant.create", "audit.uncommitted", "tenant.create"]);
    expect(recs.at(-2)!.details).toMatchObject({ seqs: [orphan.seq] });
    expect(verifyAuditFiles([core.audit.file], { anchor: core.audit, liveFile: core.audit.file })).toMatchObject({ ok: true, warnings: [] });
    core.close();
  });
});

describe("audit log rotation", () => {
  test("copytruncate: records written between the copy and the truncate are replayed, the chain continues", () => {
    const core = coreWithHistory(3);
    const live = core.audit.file;
    fs.copyFileSync(live, `${live}.1`); // logrotate copies…
    createTenant(core, "in-the-window"); // …a record lands after the copy…
    fs.truncateSync(live, 0); // …then logrotate truncates
    createTenant(core, "after");
    const report = verifyAuditFiles(discoverLogFiles(live), { anchor: core.audit, liveFile: live });
    expect(report).toMatchObject({ ok: true, firstSeq: 1, lastSeq: core.audit.head().seq });
    const actions = lines(live).map((l) => (JSON.parse(l) as AuditRecord).target?.id);
    expect(actions).toContain("in-the-window");
    core.close();
  });

  test("copytruncate without the replay window would lose records, and verify says so", () => {
    const core = testCore({ config: { audit: { copytruncateReplaySeconds: 0 } } });
    createTenant(core, "a");
    const live = core.audit.file;
    fs.copyFileSync(live, `${live}.1`);
    createTenant(core, "lost");
    fs.truncateSync(live, 0);
    const future = new Date(Date.now() + 5_000);
    fs.utimesSync(live, future, future);
    createTenant(core, "after");
    const report = verifyAuditFiles(discoverLogFiles(live), { anchor: core.audit, liveFile: live });
    expect(report.ok).toBe(false);
    expect(report.problem!.message).toMatch(/missing/);
    core.close();
  });

  test("rename and create: the next record starts the new file and chains to the old one", () => {
    const core = coreWithHistory(2);
    const live = core.audit.file;
    fs.renameSync(live, `${live}-20261129`);
    createTenant(core, "next");
    fs.renameSync(live, `${live}-20261130`);
    fs.writeFileSync(live, "", { mode: 0o600 }); // logrotate's `create`
    createTenant(core, "next2");
    expect(lines(live)).toHaveLength(1);
    expect(verifyAuditFiles(discoverLogFiles(live), { anchor: core.audit, liveFile: live })).toMatchObject({ ok: true, records: core.audit.head().seq });
    // Missing the middle file is a gap.
    const r = verifyAuditFiles([`${live}-20261129`, live], { anchor: core.audit, liveFile: live });
    expect(r.ok).toBe(false);
    core.close();
  });

  test("concurrent writers in several processes share one chain", async () => {
    const core = testCore();
    createTenant(core, "base");
    const root = path.join(import.meta.dir, "../../..");
    const procs = Array.from({ length: 6 }, (_, i) =>
      Bun.spawn(["bun", "src/main.ts", "tenants", "create", `proc-${i}`, "--json"], { cwd: root, env: { ...process.env, OPENCLAW_HOME: core.home }, stdout: "pipe", stderr: "pipe" }),
    );
    for (let i = 0; i < 6; i++) createTenant(core, `local-${i}`);
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    const report = verifyAuditFiles([core.audit.file], { anchor: core.audit, liveFile: core.audit.file });
    expect(report).toMatchObject({ ok: true, records: 13 });
    core.close();
  });
});
