// Skills' files inside exec runs, in bwrap, docker and gVisor: each enabled skill a tenant sees is
// read-only at /mnt/skills/<name>/ — its own from tenants/<id>/skills/, the operator's from
// <home>/skills/ (a second mount root, held to the same run-time checks) — so an operator skill's
// scripts run too; the tenant's skill of the same name hides the operator's; another tenant sees
// none of its files; a link planted in <home>/skills (or the folder itself made a link) is refused
// with the reason; an overlay mount can never reach the operator's root.
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { execTool } from "../../../src/modules/agents/tools/exec.ts";
import type { AgentTool, ToolContext } from "../../../src/modules/agents/tools/tool.ts";
import { skillsToolSource } from "../../../src/modules/skills/skills.tools.ts";
import { prepareMounts } from "../../../src/modules/sandbox/mounts.ts";
import { silentLogger } from "../../../src/core/logger.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, sandboxWorld, toolCtx, type SandboxWorld } from "../../helpers/sandbox.ts";
import { goodSkill, skillMd } from "../../helpers/skill-packages.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});

/** An operator skill: <home>/skills/<name>/ with SKILL.md and scripts/run.sh printing `says`. */
function operatorSkill(home: string, name: string, says: string) {
  const dir = path.join(home, "skills", name);
  fs.mkdirSync(path.join(dir, "scripts"), { recursive: true });
  fs.writeFileSync(path.join(dir, "SKILL.md"), skillMd(name));
  fs.writeFileSync(path.join(dir, "scripts", "run.sh"), `echo ${says}\n`, { mode: 0o755 });
}

const ctxFor = toolCtx;

async function world(m: (typeof MODES)[number]) {
  const w = sandboxWorld(m);
  operatorSkill(w.core.home, "op-tool", "operator tool ran");
  operatorSkill(w.core.home, "shared", "operator shared ran");
  await w.core.skills.install(scope("alpha"), "skill", { archive: await goodSkill("shared") }, operatorCtx);
  await w.core.skills.install(scope("alpha"), "skill", { archive: await goodSkill("alpha-only") }, operatorCtx);
  const source = skillsToolSource(w.core.skills);
  const exec = (tenant: string, command: string, mounts = source.mounts!(scope(tenant))) => execTool.run({ command }, ctxFor(w, tenant, mounts));
  return { w, source, exec };
}

describe("skills' files in exec runs", () => {
  for (const m of MODES) {
    test(`${m.label}: an operator skill's script runs; the tenant's skill of the same name hides it; read-only; another tenant sees none of the first's`, async () => {
      const { w, source, exec } = await world(m);
      const a = await exec(
        "alpha",
        "sh /mnt/skills/op-tool/scripts/run.sh; sh /mnt/skills/shared/scripts/hello.sh; ls /mnt/skills/shared/scripts; (echo x > /mnt/skills/op-tool/new) 2>/dev/null || echo op-read-only; (echo x > /mnt/skills/shared/new) 2>/dev/null || echo own-read-only; echo; ls /mnt/skills",
      );
      expect(a.isError).toBe(false);
      expect(a.content).toContain("stdout:\noperator tool ran\nhello from the skill\nhello.sh\nop-read-only\nown-read-only\n\nalpha-only\nop-tool\nshared\n");
      expect(a.content).not.toContain("operator shared ran");
      expect(fs.existsSync(path.join(w.core.home, "skills", "op-tool", "new"))).toBe(false);

      // beta has no skill of its own: the operator's two, nothing of alpha's (the operator's "shared").
      const b = await exec("beta", "ls /mnt/skills; sh /mnt/skills/shared/scripts/run.sh; ls /mnt/skills/shared/scripts; ls -R /mnt | grep -c -e alpha-only -e hello.sh");
      expect(b.content).toContain("stdout:\nop-tool\nshared\noperator shared ran\nrun.sh\n0\n");

      // skill_read tells the agent where the files are, for both kinds.
      const read = source.tools(scope("beta")).find((t) => t.name === "skill_read") as AgentTool;
      expect((await read.run({ name: "op-tool" }, ctxFor(w, "beta", []))).content).toContain("(Its files are at /mnt/skills/op-tool/ for exec, read-only.)");
      expect((await read.run({ name: "shared" }, ctxFor(w, "alpha", []))).content).toContain("(Its files are at /mnt/skills/shared/ for exec, read-only.)");

      // Disabled: no longer mounted.
      await w.core.skills.setEnabled(scope("beta"), "skill", "op-tool", false, operatorCtx);
      expect(source.mounts!(scope("beta")).map((x) => x.target)).toEqual(["/mnt/skills/shared"]);
      w.core.close();
    }, 120_000);

    test(`${m.label}: a link planted in <home>/skills is refused at run time with the reason`, async () => {
      const { w, source, exec } = await world(m);
      const mounts = source.mounts!(scope("beta"));
      const skills = path.join(w.core.home, "skills");
      // The skill checked by the loader is swapped for a link to another tenant's skills before the run.
      fs.renameSync(path.join(skills, "op-tool"), path.join(skills, ".op-tool-real"));
      fs.symlinkSync(path.join(w.core.tenants.dir(scope("alpha")), "skills", "alpha-only"), path.join(skills, "op-tool"));
      const r = await exec("beta", "ls -R /mnt/skills", mounts);
      expect(r.isError).toBe(true);
      expect(r.content).toContain('sandbox mount "<home>/skills/op-tool": goes through a symbolic link; links are refused anywhere on a mount source');
      expect(r.content).not.toContain("hello.sh");

      // The operator's skills folder itself a link: refused the same way.
      fs.renameSync(skills, `${skills}.real`);
      fs.symlinkSync(`${skills}.real`, skills);
      const r2 = await exec("beta", "ls -R /mnt/skills", mounts);
      expect(r2.isError).toBe(true);
      expect(r2.content).toContain("the operator's skills folder is a symbolic link");
      w.core.close();
    }, 120_000);
  }

  test("a skill gone since it was listed (removed, being replaced) is left out of the run instead of failing it", async () => {
    const { w, source, exec } = await world(MODES[0]!);
    const mounts = source.mounts!(scope("alpha"));
    expect(mounts.map((x) => x.target).sort()).toEqual(["/mnt/skills/alpha-only", "/mnt/skills/op-tool", "/mnt/skills/shared"]);
    fs.rmSync(path.join(w.core.tenants.dir(scope("alpha")), "skills", "alpha-only"), { recursive: true });
    fs.rmSync(path.join(w.core.home, "skills", "op-tool"), { recursive: true });
    const r = await exec("alpha", "ls /mnt/skills", mounts);
    expect(r).toMatchObject({ isError: false, content: "exit code: 0\nstdout:\nshared\n" });
    // No operator skills folder at all: the same.
    fs.rmSync(path.join(w.core.home, "skills"), { recursive: true });
    expect((await exec("alpha", "ls /mnt/skills", mounts)).content).toBe("exit code: 0\nstdout:\nshared\n");
    // An overlay's mount of something missing still fails the run, naming it.
    w.core.overlays.set(scope("alpha"), { sandbox: { mounts: [{ source: "plugins/none", target: "/mnt/none" }] } }, operatorCtx);
    await expect(w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/true"], origin: "rpc" })).rejects.toThrow('sandbox mount "plugins/none": does not exist');
    w.core.close();
  });

  test("an overlay mount never reaches the operator's skills, whatever its file says", async () => {
    const { w } = await world(MODES[0]!);
    // Hand-edited on disk with a root the overlay schema does not have: the mount is still the tenant's.
    fs.writeFileSync(path.join(w.core.tenants.dir(scope("beta")), "openclaw.json"), JSON.stringify({ sandbox: { mounts: [{ source: "op-tool", target: "/mnt/x", root: "operator-skills" }] } }));
    let out = "";
    try {
      out = (await w.core.sandbox.run({ tenant: scope("beta"), command: ["/bin/sh", "-c", "ls -R /mnt/x"], origin: "rpc" })).stdout;
    } catch (err) {
      out = (err as Error).message;
    }
    expect(out).not.toContain("run.sh");
    expect(out).toContain('"sandbox.mounts[0].root" is not a known key');
    w.core.close();
  });

  test("a gateway that is not root binds the operator skill's checked path under <home>/skills, and the sandbox verifies it", async () => {
    const { w } = await world(MODES[0]!);
    const requests = [
      { source: "op-tool", target: "/mnt/skills/op-tool", readOnly: true as const, root: "operator-skills" as const },
      { source: "skills/shared", target: "/mnt/skills/shared", readOnly: true as const },
    ];
    const plan = await prepareMounts({ home: w.core.home, tenantId: "alpha", runId: "t1", requests, identity: { uid: 4242, gid: 4242, viaStage: false }, unsharePath: null, log: silentLogger() });
    try {
      const op = fs.realpathSync(path.join(w.core.home, "skills", "op-tool"));
      const own = fs.realpathSync(path.join(w.core.tenants.dir(scope("alpha")), "skills", "shared"));
      expect(plan.mounts).toEqual([
        { source: op, target: "/mnt/skills/op-tool", readOnly: true, kind: "dir" },
        { source: own, target: "/mnt/skills/shared", readOnly: true, kind: "dir" },
      ]);
      const id = (p: string) => `${fs.statSync(p).dev}:${fs.statSync(p).ino}`;
      expect(plan.checks).toEqual([
        { target: "/mnt/skills/op-tool", id: id(op) },
        { target: "/mnt/skills/shared", id: id(own) },
      ]);
    } finally {
      plan.release();
    }
    // Names that would leave the operator's folder are refused like a tenant's.
    for (const source of ["../tenants/alpha/skills/shared", "/etc", "."]) {
      await expect(prepareMounts({ home: w.core.home, tenantId: "beta", runId: "t2", requests: [{ source, target: "/mnt/x", readOnly: true, root: "operator-skills" }], identity: { uid: 4242, gid: 4242, viaStage: false }, unsharePath: null, log: silentLogger() })).rejects.toThrow(/^sandbox mount "<home>\/skills\/[^"]*": .*(contains "\.\."|is absolute|names the operator's skills folder itself)/);
    }
    w.core.close();
  });
});
