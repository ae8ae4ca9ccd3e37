// Below the disk reserve, a tenant's own changes wait (red team 11 #4): every mutating RPC call (config, token
// rotation, backups, file writes, sandbox runs) is refused with UNAVAILABLE before it writes an audit
// record, a state.db row or a file, while the operator's changes still use the reserve. Deleting
// files (which only frees space) stays allowed. On small filesystems made for the test: the real disk
// is never filled.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { verifyAuditFiles } from "../../../src/modules/audit/audit.verify.ts";
import { SHORT_OF_SPACE } from "../../../src/modules/disk/disk-reserve.ts";
import { createTenant, operatorCtx, scope, testApp, testCore } from "../../helpers/core.ts";

const MiB = 1024 * 1024;

function mountTmpfs(sizeMb: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-reserve-rpc-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0700`, "openclaw-reserve-rpc", dir], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cannot mount the test filesystem: ${r.stderr.toString()}`);
  return dir;
}

/** Fills `dir`'s filesystem until `leaveMb` MiB are free (a file outside the gateway's home). */
function fillUntil(dir: string, leaveMb: number): string {
  const st = fs.statfsSync(dir);
  const free = st.bavail * st.bsize;
  const file = path.join(dir, "filler");
  fs.writeFileSync(file, Buffer.alloc(Math.max(0, free - leaveMb * MiB)));
  return file;
}

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) {
    Bun.spawnSync(["umount", "-l", m]);
    fs.rmSync(m, { recursive: true, force: true });
  }
});

/** The tenant's mutating calls, each refused under the reserve; files.delete is not among them. */
const CHANGES: [string, Record<string, unknown>][] = [
  ["config.patch", { patch: { agent: { systemPrompt: "patched" } } }],
  ["config.set", { config: { agent: { systemPrompt: "set" } } }],
  ["tenants.rotate", {}],
  ["tenants.backup", {}],
  ["files.write", { path: "new.txt", content: "x" }],
  ["sandbox.exec", { command: "true" }],
];

for (const where of ["home", "audit log"] as const) {
  describe(`under the reserve on the filesystem of the ${where}`, () => {
    let core: ReturnType<typeof testCore>;
    let filler: string;
    let alpha: string;
    beforeAll(() => {
      // The home on one 64 MiB tmpfs; for "audit log", the audit log alone on another, the one filled.
      const homeFs = mountTmpfs(64);
      mounts.push(homeFs);
      const auditFs = where === "home" ? homeFs : mountTmpfs(64);
      if (auditFs !== homeFs) mounts.push(auditFs);
      fs.mkdirSync(path.join(homeFs, "home"), { mode: 0o700 });
      core = testCore({ home: path.join(homeFs, "home"), config: { gateway: { diskReserveMb: 32 }, audit: { path: path.join(auditFs, "audit.log") } } });
      alpha = createTenant(core, "alpha");
      fs.writeFileSync(path.join(core.tenants.dir(scope("alpha")), "workspace", "old.txt"), "old");
      filler = fillUntil(auditFs, 24);
    });
    afterAll(() => core?.close());

    test("every change a tenant asks for is refused before it writes anything; deleting files still works", async () => {
      const { rpc } = testApp(core);
      const before = core.audit.head().seq;
      for (const [method, params] of CHANGES) {
        const r = await rpc(alpha, method, params);
        expect({ method, code: r.error?.data?.code, message: r.error?.message }).toEqual({ method, code: "UNAVAILABLE", message: SHORT_OF_SPACE });
      }
      expect(core.audit.head().seq).toBe(before);
      expect(core.overlays.current(scope("alpha")).agent?.systemPrompt).toBeUndefined();
      // Reads still answer, and a delete (which only frees space) goes through.
      expect((await rpc(alpha, "config.get", {})).error).toBeUndefined();
      expect((await rpc(alpha, "files.delete", { path: "old.txt" })).result).toMatchObject({ deleted: true });
    });

    test("the operator's changes use the reserve, audited", () => {
      const before = core.audit.head().seq;
      core.tenants.suspend(scope("alpha"), operatorCtx);
      core.tenants.resume(scope("alpha"), operatorCtx);
      core.tenants.rotateToken(scope("alpha"), 0, operatorCtx);
      core.overlays.patch(scope("alpha"), { agent: { systemPrompt: "by the operator" } }, operatorCtx);
      createTenant(core, "gamma");
      expect(core.audit.head().seq).toBe(before + 5);
      expect(verifyAuditFiles([core.audit.file], { anchor: core.audit, liveFile: core.audit.file }).ok).toBe(true);
    });

    test("once the operator frees space, the tenant's changes go through again", async () => {
      fs.rmSync(filler);
      const { rpc } = testApp(core);
      const token = core.tenants.rotateToken(scope("alpha"), 0, operatorCtx).token;
      const r = await rpc(token, "config.patch", { patch: { agent: { systemPrompt: "patched" } } });
      expect(r.error).toBeUndefined();
      expect((await rpc(token, "files.write", { path: "new.txt", content: "x" })).error).toBeUndefined();
    });
  });
}
