// The web terminal in every sandbox mode, over a real WebSocket to a started gateway: the shell runs
// in the tenant's sandbox (bwrap, docker/runc, docker/runsc) with exec's identity, network and
// limits; output is read back, a resize reaches the shell, the exit is told, close and open are
// audited, and the tenant's suspension kills it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { skillMd } from "../../helpers/skill-packages.ts";
import { operatorCtx, scope, testApp } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES } from "../../helpers/sandbox.ts";
import { outputOf, termWorld, type TermWorld, typeInto, waitOutput, waitPrompt, waitSize } from "./harness.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});

/** What the shell prints between the markers (the typed line is echoed too: the markers are built by the shell). */
async function between(c: any, id: string, script: string): Promise<string> {
  const from = outputOf(c, id).length;
  typeInto(c, id, `echo BE""GIN; ${script}; echo EN""D\r`);
  const out = await waitOutput(c, id, /BEGIN\r\n[\s\S]*END\r\n/, 30_000, from);
  return /BEGIN\r\n([\s\S]*)END\r\n/.exec(out)![1]!.replaceAll("\r\n", "\n");
}

const PROBE = "id -u; ulimit -n; ulimit -f; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '; echo; pwd; hostname";

for (const m of MODES) {
  describe(`terminal in ${m.label}`, () => {
    // Made once the sandbox image exists (the top-level beforeAll builds it): the sandbox service
    // decides at creation whether docker and gVisor are available.
    let w!: TermWorld;
    let rpc!: ReturnType<typeof testApp>["rpc"];
    beforeAll(() => {
      w = termWorld(m);
      rpc = testApp(w.core).rpc;
    });
    afterAll(() => w.close());

    test("open, echo read back, resize seen by stty size, exit told; open and close audited", async () => {
      const c = await w.client(w.a);
      const r = await c.call("terminal.open", { cols: 80, rows: 24 });
      expect(r.result).toEqual({ terminalId: expect.stringMatching(/^term_/), mode: m.mode });
      const id = r.result.terminalId;
      await waitPrompt(c, id);
      expect(await between(c, id, "echo hi; stty size")).toBe("hi\n24 80\n");
      expect((await c.call("terminal.resize", { terminalId: id, cols: 132, rows: 43 })).result).toEqual({});
      await waitSize(c, id, 43, 132);
      typeInto(c, id, "exit 3\r");
      const exit = await c.next((x) => x.method === "terminal.exit", "terminal.exit", 30_000);
      // dash (bwrap) cannot give the tty back to the process group it started with (outside its pid namespace) and exits 2.
      expect(exit.params).toEqual({ terminalId: id, code: m.mode === "bwrap" ? 2 : 3, reason: "exit" });
      expect((await c.call("terminal.list", {})).result.terminals).toEqual([]);
      const open = w.core.audit.query({ action: "terminal.open" }).filter((x: any) => x.target?.id === id);
      const close = w.core.audit.query({ action: "terminal.close" }).filter((x: any) => x.target?.id === id);
      expect(open).toHaveLength(1);
      expect(open[0]).toMatchObject({ tenant: "alpha", actor: { kind: "tenant" }, details: { mode: m.mode, cols: 80, rows: 24 } });
      expect(close).toHaveLength(1);
      expect(close[0]).toMatchObject({ tenant: "alpha", details: { reason: "exit" } });
    }, 120_000);

    test("^C interrupts the command in the foreground, not the terminal", async () => {
      const c = await w.client(w.a);
      const id = (await c.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
      await waitPrompt(c, id);
      typeInto(c, id, "sleep 600\r");
      await waitOutput(c, id, /sleep 600\r\n/);
      await Bun.sleep(300);
      typeInto(c, id, "\x03");
      expect(await between(c, id, "echo alive")).toBe("alive\n");
      expect(c.notifications("terminal.exit")).toEqual([]);
      await c.call("terminal.close", { terminalId: id });
    }, 120_000);

    test("the shell has exec's identity, network, limits, workspace and host name", async () => {
      const exec = await rpc(w.a, "sandbox.exec", { command: "/bin/sh", args: ["-c", PROBE] });
      expect(exec.error).toBeUndefined();
      const c = await w.client(w.a);
      const id = (await c.call("terminal.open", { cols: 200, rows: 24 })).result.terminalId;
      await waitPrompt(c, id);
      const inTerminal = await between(c, id, PROBE);
      expect(inTerminal).toBe(exec.result.stdout);
      // No network but loopback, as exec (egress only through a tool's allow-list).
      expect(inTerminal.split("\n")[3]!.trim()).toBe("lo");
      expect(inTerminal.split("\n")[0]).toBe("65534");
      expect((await c.call("terminal.close", { terminalId: id })).result).toEqual({});
      const close = w.core.audit.query({ action: "terminal.close" }).filter((x: any) => x.target?.id === id);
      expect(close[0]).toMatchObject({ actor: { kind: "tenant" }, details: { reason: "closed" } });
    }, 120_000);

    test("the shell sees the tenant's skills read-only at /mnt/skills, as exec does", async () => {
      const dir = path.join(w.core.home, "skills", "term-op");
      fs.mkdirSync(path.join(dir, "scripts"), { recursive: true });
      fs.writeFileSync(path.join(dir, "SKILL.md"), skillMd("term-op"));
      fs.writeFileSync(path.join(dir, "scripts", "run.sh"), "echo operator-skill-ran\n", { mode: 0o755 });
      try {
        // The operator's skills are listed from disk at most every 2 s: wait until the new one is seen.
        const deadline = Date.now() + 10_000;
        while (!w.core.skills.active(scope("alpha"), "skill").some((s) => s.name === "term-op") && Date.now() < deadline) await Bun.sleep(100);
        const c = await w.client(w.a);
        const id = (await c.call("terminal.open", { cols: 120, rows: 24 })).result.terminalId;
        await waitPrompt(c, id);
        expect(await between(c, id, "sh /mnt/skills/term-op/scripts/run.sh; (echo x > /mnt/skills/term-op/new) 2>/dev/null || echo read-only")).toBe("operator-skill-ran\nread-only\n");
        await c.call("terminal.close", { terminalId: id });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);

    test("suspending the tenant kills its terminal (audited with the reason); another tenant's goes on", async () => {
      const ca = await w.client(w.a);
      const cb = await w.client(w.b);
      const a = (await ca.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
      const b = (await cb.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
      await waitPrompt(ca, a);
      await waitPrompt(cb, b);
      const marker = `${Math.floor(Math.random() * 1e6)}.7331`;
      typeInto(ca, a, `sleep ${marker}\r`);
      await waitOutput(ca, a, new RegExp(`sleep ${marker}`));
      await Bun.sleep(500);
      // gVisor's processes are not the host's: there, the container says whether the shell still runs.
      const running = () =>
        m.mode === "bwrap"
          ? Bun.spawnSync(["pgrep", "-f", `sleep ${marker}`], { stdout: "pipe" }).stdout.toString().trim() !== ""
          : Bun.spawnSync(["docker", "ps", "-q", "--filter", `label=openclaw.tenant=alpha`, "--filter", `label=openclaw.home=${w.core.sandbox.homeLabel}`], { stdout: "pipe" }).stdout.toString().trim() !== "";
      expect(running()).toBe(true);
      await w.core.tenants.suspend(scope("alpha"), operatorCtx);
      const deadline = Date.now() + 20_000;
      while (w.core.terminal.count("alpha") > 0 && Date.now() < deadline) await Bun.sleep(50);
      expect(w.core.terminal.count("alpha")).toBe(0);
      while (running() && Date.now() < deadline) await Bun.sleep(50);
      expect(running()).toBe(false);
      const close = w.core.audit.query({ action: "terminal.close" }).filter((x: any) => x.target?.id === a);
      expect(close[0]).toMatchObject({ details: { reason: "tenant-suspended" } });
      expect(await between(cb, b, "echo still-here")).toBe("still-here\n");
      w.core.tenants.resume(scope("alpha"), operatorCtx);
    }, 120_000);
  });
}
