// An agentTurn job is a run of the agent runtime as the job's owner: through the tenant's quotas and
// the usage ledger like any chat.send, its usage and cost recorded on the cron run. The fake provider
// stands in for the model.
import { afterEach, describe, expect, test } from "bun:test";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";

let w: ChatWorld | null = null;
afterEach(async () => {
  await w?.close();
  w?.core.close();
  w = null;
});

async function ended(world: ChatWorld, tenant: string, runId: string) {
  for (let i = 0; i < 600; i++) {
    const run = world.core.cron.runs(scope(tenant), { limit: 50 }).items.find((r) => r.id === runId)!;
    if (run.status !== "running") return run;
    await Bun.sleep(25);
  }
  throw new Error("the cron run did not end");
}

describe("cron agentTurn", () => {
  test("runs the agent in the job's session; the run records the answer, its agent run id, usage and cost, metered to the tenant", async () => {
    w = await chatWorld({ tenant: "alpha" });
    const job = w.core.cron.add(scope("alpha"), { name: "daily", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "summarise [[words:4]]" } }, operatorCtx);
    const started = await w.core.cron.runNow(scope("alpha"), job.id, operatorCtx);
    expect(started).toMatchObject({ jobId: job.id, trigger: "manual", status: "running" });
    const run = await ended(w, "alpha", started.id);
    expect(run.status).toBe("ok");
    expect(run.output!.split(" ").length).toBe(4);
    expect(run.runRef).toMatch(/^run_/);
    expect(run.usage.inputTokens).toBeGreaterThan(0);
    expect(run.usage.outputTokens).toBeGreaterThan(0);
    expect(run.usage.costMicroUsd).toBeGreaterThan(0);
    // The turn is in the job's own session, and in the tenant's ledger.
    const session = w.core.sessions.get(scope("alpha"), `cron:${job.id}`);
    expect(w.core.sessions.entries(scope("alpha"), session.sessionId).map((e) => e.type)).toEqual(["user", "assistant"]);
    const rows = ledgerRows(w.core);
    expect(rows.length).toBe(1);
    expect(rows[0].tenant_id).toBe("alpha");
    expect(rows[0].cost_micro_usd).toBe(run.usage.costMicroUsd);
  });

  test("goes through the tenant's quotas: over its token quota, the run fails with the quota's error", async () => {
    w = await chatWorld({ tenant: "alpha", quota: { tokensPerDay: 10 } });
    const job = w.core.cron.add(scope("alpha"), { name: "q", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "go [[words:50]]", isolated: true } }, operatorCtx);
    const first = await ended(w, "alpha", (await w.core.cron.runNow(scope("alpha"), job.id, operatorCtx)).id);
    const second = await ended(w, "alpha", (await w.core.cron.runNow(scope("alpha"), job.id, operatorCtx)).id);
    expect([first.status, second.status]).toContain("error");
    const failed = first.status === "error" ? first : second;
    expect(failed.error).toStartWith("QUOTA_EXCEEDED");
    // Isolated runs each get a fresh session of their own.
    expect(w.core.sessions.list(scope("alpha"), { limit: 10 }).sessions.map((s) => s.key).sort()).toEqual([`cron:${job.id}:${first.id}`, `cron:${job.id}:${second.id}`].sort());
  });
});
