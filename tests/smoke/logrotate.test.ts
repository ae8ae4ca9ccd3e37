// The audit log under the real logrotate, with a running gateway and CLI writers: copytruncate and
// move-and-create (with the postrotate SIGHUP), compression included. The chain verifies across files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { makeHome } from "../helpers/core.ts";
import { binary, run, startGatewayProcess, type RunningGateway } from "../helpers/binary.ts";

let bin: string;
let home: string;
let gw: RunningGateway;
let key: string;
const env = () => ({ OPENCLAW_HOME: home });
const LOGROTATE = ["/usr/sbin/logrotate", "/usr/bin/logrotate"].find((p) => fs.existsSync(p));

function logrotate(body: string): void {
  const conf = path.join(home, "..", "logrotate.conf");
  fs.writeFileSync(conf, `${path.join(home, "audit.log")} {\n${body}\n}\n`, { mode: 0o644 });
  const r = Bun.spawnSync([LOGROTATE!, "-f", "-s", path.join(home, "..", "logrotate.state"), conf], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`logrotate failed: ${r.stderr.toString()}`);
}

async function adminCreate(id: string): Promise<void> {
  const r = await fetch(`${gw.url}/admin/v1/tenants`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ id }) });
  expect(r.status).toBe(201);
}

beforeAll(async () => {
  if (!LOGROTATE) throw new Error("logrotate is not installed (CI installs it: apt-get install logrotate)");
  bin = binary();
  home = path.join(makeHome(), "home");
  key = JSON.parse(run(bin, ["admin-key", "rotate", "--json"], env()).stdout).key;
  gw = await startGatewayProcess([bin], env());
});

afterAll(() => gw?.proc.kill("SIGKILL"));

describe("audit log under logrotate", () => {
  test("copytruncate, then move-and-create with SIGHUP and compression: one unbroken chain", async () => {
    await adminCreate("one");
    expect(run(bin, ["tenants", "create", "two"], env()).code).toBe(0);
    logrotate("  copytruncate\n  rotate 10\n  compress\n  missingok");
    await adminCreate("three");
    expect(run(bin, ["tenants", "suspend", "two"], env()).code).toBe(0);
    logrotate(`  create 0600\n  rotate 10\n  compress\n  missingok\n  postrotate\n    kill -HUP ${gw.proc.pid}\n  endscript`);
    await adminCreate("four");
    expect(run(bin, ["tenants", "create", "five"], env()).code).toBe(0);
    logrotate(`  create 0600\n  rotate 10\n  compress\n  missingok\n  postrotate\n    kill -HUP ${gw.proc.pid}\n  endscript`);
    await adminCreate("six");

    const files = fs.readdirSync(home).filter((f) => f.startsWith("audit.log"));
    expect(files.some((f) => f.endsWith(".gz"))).toBe(true);
    expect(files.length).toBeGreaterThanOrEqual(4);
    const verify = run(bin, ["audit", "verify", "--json"], env());
    const report = JSON.parse(verify.stdout);
    expect(verify.code).toBe(0);
    expect(report).toMatchObject({ ok: true, firstSeq: 1 });
    expect(report.records).toBe(report.lastSeq);
    expect(report.records).toBeGreaterThanOrEqual(8);
    // The gateway is alive after the SIGHUPs and still writing to the new file.
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    expect(gw.logs()).toContain("config reloaded (SIGHUP)");
    const tail = run(bin, ["audit", "tail", "-n", "1"], env()).stdout;
    expect(JSON.parse(tail).target.id).toBe("six");
  });

  test("deleting a line from a rotated, compressed file is still caught", () => {
    // audit.log.1.gz holds records no other file repeats (the move-and-create rotation).
    const rotated = fs.readdirSync(home).find((f) => f === "audit.log.1.gz");
    expect(rotated).toBeDefined();
    const p = path.join(home, rotated!);
    const text = Buffer.from(Bun.gunzipSync(fs.readFileSync(p))).toString("utf8").split("\n");
    const kept = text.filter(Boolean).slice(0, -1);
    fs.writeFileSync(p, Bun.gzipSync(Buffer.from(kept.map((l) => `${l}\n`).join(""))));
    const r = run(bin, ["audit", "verify"], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing \(deleted\)|differs|repeats/);
  });
});
