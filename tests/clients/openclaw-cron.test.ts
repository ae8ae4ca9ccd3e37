// Upstream's own CLI (`openclaw cron …`, the pinned package under Node 24) against our gateway, with
// a tenant's token as the gateway token: add, list, show, disable/enable, edit, run, runs, rm — and
// the other tenant sees none of it. These are the calls `openclaw cron` makes, with the scopes it
// asks for (operator.admin alone for its writes) and the checks it makes on our answers (its
// list-page contract: a snapshotRevision on every page).
import { describe, expect, test } from "bun:test";
import { scope } from "../helpers/core.ts";
import { clientEnv, clientsSuite, runOpenclaw } from "./harness.ts";

const suite = clientsSuite("openclaw-cron");

async function cron(token: string, args: string[]) {
  const { env } = clientEnv(suite.u, suite.tap.url, token);
  const r = await runOpenclaw(suite.u, ["cron", ...args], env, 60_000);
  const explain = `openclaw cron ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout.slice(-2000)}\n--- stderr\n${r.stderr.slice(-2000)}\n--- frames\n${suite.tap.transcript().slice(-4000)}`;
  return { ...r, explain, json: () => JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) };
}

async function ok(token: string, args: string[]) {
  const r = await cron(token, args);
  if (r.code !== 0) throw new Error(r.explain);
  return r;
}

describe("openclaw cron (upstream CLI) against our gateway", () => {
  test("a tenant adds, lists, shows, pauses, edits, runs and removes its job; the run is in its history; the other tenant sees none of it", async () => {
    // Upstream's defaults: an isolated agent turn that announces to the "last" channel.
    const added = (await ok(suite.w.alpha, ["add", "--name", "nightly", "--cron", "0 3 * * *", "--tz", "Europe/Berlin", "--message", "summarise [[words:3]]", "--agent", "main", "--json"])).json();
    expect(added).toMatchObject({ name: "nightly", enabled: true, sessionTarget: "isolated", schedule: { kind: "cron", expr: "0 3 * * *", tz: "Europe/Berlin" }, payload: { kind: "agentTurn" } });
    const id = added.id as string;
    const ours = suite.w.core.cron.list(scope("alpha"), { includeDisabled: true });
    expect(ours.items.map((j) => [j.id, j.payload])).toEqual([[id, { kind: "agentTurn", message: "summarise [[words:3]]", agentId: "main", isolated: true }]]);

    const listed = (await ok(suite.w.alpha, ["list", "--json"])).json();
    expect(listed).toMatchObject({ total: 1, jobs: [{ id, name: "nightly" }], snapshotRevision: expect.stringMatching(/^sha256:/) });
    expect((await ok(suite.w.alpha, ["list"])).stdout).toContain(id);
    expect((await ok(suite.w.alpha, ["show", id])).stdout).toContain("name: nightly");

    expect((await ok(suite.w.alpha, ["disable", id])).json()).toMatchObject({ id, enabled: false });
    expect((await ok(suite.w.alpha, ["enable", id])).json()).toMatchObject({ id, enabled: true });
    expect((await ok(suite.w.alpha, ["edit", id, "--message", "summarise again [[words:2]]"])).json()).toMatchObject({ payload: { kind: "agentTurn", message: "summarise again [[words:2]]" }, sessionTarget: "isolated" });

    const run = (await ok(suite.w.alpha, ["run", id])).json();
    expect(run).toMatchObject({ ok: true, enqueued: true, runId: expect.stringMatching(/^crun_/) });
    let entries: any[] = [];
    for (let i = 0; i < 100 && entries.length === 0; i++) {
      entries = suite.w.core.cron.runs(scope("alpha"), { id, statuses: ["ok", "error", "skipped"] }).items;
      if (entries.length === 0) await Bun.sleep(100);
    }
    const history = (await ok(suite.w.alpha, ["runs", "--id", id])).json();
    expect(history).toMatchObject({ total: 1, entries: [{ jobId: id, runId: run.runId, status: "ok", jobName: "nightly" }] });
    expect(history.entries[0].summary.split(/\s+/)).toHaveLength(2);
    expect(history.entries[0].usage.output_tokens).toBeGreaterThan(0);

    // Beta: no jobs of alpha's listed, and alpha's job named by its id is not found — and untouched.
    expect((await ok(suite.w.beta, ["list", "--all", "--json"])).json()).toMatchObject({ total: 0, jobs: [] });
    for (const args of [["show", id], ["rm", id], ["disable", id], ["run", id]]) {
      const r = await cron(suite.w.beta, args);
      expect({ args, code: r.code === 0 }).toEqual({ args, code: false });
      expect(`${r.stdout}\n${r.stderr}`).toContain(`not found: ${id}`);
    }
    expect(suite.w.core.cron.get(scope("alpha"), id)).toMatchObject({ enabled: true, name: "nightly" });

    expect((await ok(suite.w.alpha, ["rm", id])).json()).toEqual({ ok: true, removed: true });
    expect((await ok(suite.w.alpha, ["list", "--all", "--json"])).json().total).toBe(0);
  }, 600_000);
});
