// `openclaw cron list | add | remove | run | runs --tenant <id>`, run as the binary runs them (in
// process, on a real home): the operator's view of a tenant's jobs, audited under the OS user.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cli } from "../../helpers/cli.ts";
import { makeHome } from "../../helpers/core.ts";
import { jobFromArgs, parseEvery } from "../../../src/modules/cron/cron.cli.ts";
import { CliError } from "../../../src/modules/module-cli.ts";

async function home(): Promise<string> {
  const h = makeHome();
  fs.writeFileSync(path.join(h, "openclaw.json"), JSON.stringify({ sandbox: { allowedModes: ["bwrap"] } }), { mode: 0o600 });
  expect((await cli(h, ["tenants", "create", "acme"])).code).toBe(0);
  return h;
}

describe("openclaw cron", () => {
  test("add (an interval, a cron expression in a zone, a one-off), list, runs, remove — for the tenant named", async () => {
    const h = await home();
    const every = await cli(h, ["cron", "add", "--tenant", "acme", "--name", "digest", "--every", "5m", "--message", "summarise", "--json"]);
    expect(every.code).toBe(0);
    const a = JSON.parse(every.out);
    expect(a).toMatchObject({ name: "digest", schedule: { kind: "every", everyMs: 300_000 }, payload: { kind: "agentTurn", message: "summarise" } });
    const cronJob = await cli(h, ["cron", "add", "--tenant", "acme", "--cron", "30 6 * * *", "--tz", "America/New_York", "--exec", "ls", "--arg", "-la", "--arg", "/work", "--timeout", "20"]);
    expect(cronJob.code).toBe(0);
    expect(cronJob.out).toContain('✓ cron job added');
    expect(cronJob.out).toContain('cron "30 6 * * *" America/New_York');
    const at = new Date(Date.now() + 86_400_000).toISOString();
    expect((await cli(h, ["cron", "add", "--tenant", "acme", "--at", at, "--message", "once", "--isolated"])).code).toBe(0);

    const list = JSON.parse((await cli(h, ["cron", "list", "--tenant", "acme", "--json"])).out);
    expect(list.total).toBe(3);
    const exec = list.items.find((j: any) => j.payload.kind === "exec");
    expect(exec).toMatchObject({ name: "ls -la /work", payload: { command: "ls", args: ["-la", "/work"], timeoutSeconds: 20 }, schedule: { tz: "America/New_York" } });
    expect(list.items.find((j: any) => j.schedule.kind === "at")).toMatchObject({ deleteAfterRun: true, payload: { isolated: true } });
    const human = (await cli(h, ["cron", "list", "--tenant", "acme"])).out;
    expect(human).toContain(`${a.id}  "digest"  every 5m  agentTurn  next `);

    expect((await cli(h, ["cron", "runs", "--tenant", "acme"])).out).toContain("No runs.");
    const removed = await cli(h, ["cron", "remove", a.id, "--tenant", "acme"]);
    expect(removed.out).toContain(`✓ cron job ${a.id} removed`);
    expect(JSON.parse((await cli(h, ["cron", "list", "--tenant", "acme", "--json"])).out).total).toBe(2);
    // Audited, under the operator (the OS user at the terminal).
    const audit = fs.readFileSync(path.join(h, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.action.startsWith("cron."));
    expect(audit.map((r) => [r.action, r.actor.kind, r.tenant])).toEqual([
      ["cron.add", "operator", "acme"],
      ["cron.add", "operator", "acme"],
      ["cron.add", "operator", "acme"],
      ["cron.remove", "operator", "acme"],
    ]);
  });

  test("run waits for the run to end and prints it; runs shows it with its outcome; a failing run exits 1", async () => {
    const h = await home();
    const ok = JSON.parse((await cli(h, ["cron", "add", "--tenant", "acme", "--every", "1h", "--exec", "echo", "--arg", "hello from cron", "--json"])).out);
    const ran = await cli(h, ["cron", "run", ok.id, "--tenant", "acme"]);
    expect(ran.err).toBe("");
    expect(ran.code).toBe(0);
    expect(ran.out).toMatch(new RegExp(`^✓ crun_\\S+  ${ok.id}  manual  ok \\d+ ms  at `));
    expect(ran.out).toContain("hello from cron");
    const bad = JSON.parse((await cli(h, ["cron", "add", "--tenant", "acme", "--every", "1h", "--exec", "false", "--json"])).out);
    const failed = await cli(h, ["cron", "run", bad.id, "--tenant", "acme", "--json"]);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.out)).toMatchObject({ jobId: bad.id, status: "error", trigger: "manual" });
    const runs = JSON.parse((await cli(h, ["cron", "runs", "--tenant", "acme", "--json"])).out);
    expect(runs.items.map((r: any) => [r.jobId, r.status])).toEqual([
      [bad.id, "error"],
      [ok.id, "ok"],
    ]);
    expect(JSON.parse((await cli(h, ["cron", "runs", ok.id, "--tenant", "acme", "--status", "ok", "--json"])).out).total).toBe(1);
  }, 60_000);

  test("what it refuses, it names: the schedule and payload flags, the tenant, the job, the expression", async () => {
    const h = await home();
    const refused = async (args: string[]) => {
      const r = await cli(h, args);
      expect(r.code).not.toBe(0);
      return r.err;
    };
    expect(await refused(["cron", "add", "--tenant", "acme", "--message", "x"])).toContain("give exactly one of --cron");
    expect(await refused(["cron", "add", "--tenant", "acme", "--every", "5m", "--cron", "* * * * *", "--message", "x"])).toContain("(got --cron and --every)");
    expect(await refused(["cron", "add", "--tenant", "acme", "--every", "5m"])).toContain('give exactly one of --message "<text>"');
    expect(await refused(["cron", "add", "--tenant", "acme", "--every", "5m", "--message", "x", "--tz", "UTC"])).toContain("--tz goes with --cron");
    expect(await refused(["cron", "add", "--tenant", "acme", "--every", "5m", "--message", "x", "--arg", "y"])).toContain("--arg goes with --exec");
    expect(await refused(["cron", "add", "--tenant", "acme", "--every", "soon", "--message", "x"])).toContain("--every must be milliseconds or a duration");
    expect(await refused(["cron", "add", "--tenant", "acme", "--cron", "0 25 * * *", "--message", "x"])).toContain("schedule.expr");
    expect(await refused(["cron", "add", "--tenant", "ghost", "--every", "5m", "--message", "x"])).toContain("ghost");
    expect(await refused(["cron", "remove", "00000000-0000-4000-8000-000000000000", "--tenant", "acme"])).toContain("not found");
    expect(await refused(["cron", "runs", "--tenant", "acme", "--status", "fine"])).toContain("--status takes running, ok, error, skipped");
    expect(await refused(["cron", "list", "--tenant", "acme", "--limit", "0"])).toContain("--limit must be a whole number from 1 to 200");
    expect(JSON.parse((await cli(h, ["cron", "list", "--tenant", "acme", "--json"])).out).total).toBe(0);
  });

  test("--every: a bare number is milliseconds, else a duration", () => {
    expect(parseEvery("90000")).toBe(90_000);
    expect(parseEvery("30s")).toBe(30_000);
    expect(parseEvery("1h30m")).toBe(5_400_000);
    expect(() => parseEvery("0")).toThrow(CliError);
    const io = { repeated: () => [] };
    expect(jobFromArgs({ every: "2m", message: "hi", webhook: "https://h.example/x", "catch-up": "skip" }, io)).toEqual({
      name: "hi",
      schedule: { kind: "every", everyMs: 120_000 },
      payload: { kind: "agentTurn", message: "hi" },
      catchUp: "skip",
      delivery: { mode: "webhook", url: "https://h.example/x" },
    });
  });
});
