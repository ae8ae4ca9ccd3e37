// `audit verify` against state.db: records missing before the first file are a deletion unless they
// were rotated away (written to a file before the one the writer last appended to), and then their
// committed copies must verify.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { discoverLogFiles, verifyAuditFiles } from "../../../src/modules/audit/audit.verify.ts";
import { createTenant, makeHome, testCore } from "../../helpers/core.ts";
import { cli } from "../../helpers/cli.ts";

const lines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
const writeLines = (file: string, ls: string[]) => fs.writeFileSync(file, ls.map((l) => `${l}\n`).join(""));
// OPENCLAW_HOME points elsewhere: --home is what names the state directory.
const verifyCli = (home: string) => cli(makeHome(), ["audit", "verify", "--home", home]);

function withHistory(n: number) {
  const core = testCore();
  for (let i = 0; i < n; i++) createTenant(core, `t${i}`);
  return core;
}

describe("audit verify against state.db", () => {
  test("the live log with its first record removed (no rotated files) fails: service, CLI and doctor", async () => {
    const core = withHistory(4);
    const live = core.audit.file;
    writeLines(live, lines(live).slice(1));
    const report = verifyAuditFiles(discoverLogFiles(live), { anchor: core.audit, liveFile: live });
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ line: 1, seq: 2, message: expect.stringContaining("records 1..1 were removed, not rotated away") });
    const doctor = await core.doctor.run();
    expect(doctor.find((c) => c.name === "audit log")).toMatchObject({ status: "fail", detail: expect.stringContaining("removed, not rotated away") });
    const home = core.home;
    core.close();
    const cli = await verifyCli(home);
    expect(cli.code).toBe(1);
    expect(cli.err).toContain("audit.log:1: seq 2: the log starts at seq 2, but the live log began at seq 1 (state.db)");
  });

  test("records rotated away (their file since removed) are accepted when their committed copies verify", async () => {
    const core = withHistory(3);
    const live = core.audit.file;
    fs.renameSync(live, `${live}.1`); // logrotate: move…
    createTenant(core, "after-rotation"); // …the writer starts a new file…
    createTenant(core, "and-more");
    fs.rmSync(`${live}.1`); // …and the old one expires (rotate N)
    const report = verifyAuditFiles(discoverLogFiles(live), { anchor: core.audit, liveFile: live });
    expect(report).toMatchObject({ ok: true, firstSeq: 4, lastSeq: 5, rotatedAway: { from: 1, to: 3 }, warnings: [] });
    const home = core.home;
    core.close();
    const cli = await verifyCli(home);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain("seq 1..3 rotated away, their committed copies in state.db verify");
  });

  test("a rotated-away record whose committed copy was edited or removed fails, naming state.db", async () => {
    const core = withHistory(3);
    const live = core.audit.file;
    fs.renameSync(live, `${live}.1`);
    createTenant(core, "after-rotation");
    fs.rmSync(`${live}.1`);
    const verify = () => verifyAuditFiles(discoverLogFiles(live), { anchor: core.audit, liveFile: live });
    expect(verify().ok).toBe(true);
    const row = core.handle.sqlite.query("SELECT line FROM audit_events WHERE seq = 2").get() as { line: string };
    core.handle.sqlite.query("UPDATE audit_events SET line = ? WHERE seq = 2").run(row.line.replace('"t1"', '"tX"'));
    expect(verify()).toMatchObject({ ok: false, problem: { file: "state.db", seq: 2, message: expect.stringContaining("edited") } });
    core.handle.sqlite.query("UPDATE audit_events SET line = ? WHERE seq = 2").run(row.line);
    expect(verify().ok).toBe(true);
    core.handle.sqlite.query("DELETE FROM audit_events WHERE seq = 1").run();
    expect(verify()).toMatchObject({ ok: false, problem: { file: "state.db", seq: 1, message: expect.stringContaining("missing from state.db") } });
    core.close();
  });

  test("after a rotation, removing the first records of the new live file is still caught", async () => {
    const core = withHistory(3);
    const live = core.audit.file;
    fs.renameSync(live, `${live}.1`);
    for (const id of ["n1", "n2", "n3"]) createTenant(core, id);
    fs.rmSync(`${live}.1`);
    writeLines(live, lines(live).slice(2));
    const report = verifyAuditFiles(discoverLogFiles(live), { anchor: core.audit, liveFile: live });
    expect(report.ok).toBe(false);
    expect(report.problem!.message).toContain("the live log began at seq 4 (state.db): records 4..5 were removed, not rotated away");
    core.close();
  });
});
