// Delivering a run's result: a webhook passes the same egress rules as a sandbox (the admin's
// allow-list, private and local addresses refused after resolution, the checked address dialled, no
// redirect followed) and is signed with the job's secret, shown once; a session delivery is a note in
// the tenant's transcript.
import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { scope } from "../../helpers/core.ts";
import { cronWorld, MIN, START, type CronWorld } from "./world.ts";

let w: CronWorld | null = null;
const servers: { stop(): void }[] = [];
afterEach(async () => {
  await w?.stop();
  w = null;
  for (const s of servers.splice(0)) s.stop();
});

interface Hit {
  path: string;
  headers: Record<string, string>;
  body: string;
}

function receiver(answer: (req: Request) => Response = () => new Response("ok")) {
  const hits: Hit[] = [];
  const srv = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      hits.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers), body: await req.text() });
      return answer(req);
    },
  });
  servers.push(srv);
  return { hits, port: srv.port };
}

const loopback = (extra: Record<string, unknown> = {}) => ({ gateway: { cron: { webhookAllow: ["127.0.0.1:*", "hooks.test:*"], ...extra } }, sandbox: { egress: { allowPrivate: ["127.0.0.1"] } } });

describe("cron delivery", () => {
  test("webhook: POST of the run record, signed HMAC-SHA256 over timestamp.body with the secret cron.add showed once", async () => {
    const r = receiver();
    w = cronWorld({ config: loopback() });
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: MIN }, delivery: { mode: "webhook", url: `http://127.0.0.1:${r.port}/hook?x=1` } });
    const secret: string = job.delivery.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    // Never again: not by get, list, or update.
    expect(JSON.stringify(w.core.cron.get(scope("alpha"), job.id))).not.toContain(secret);
    expect(JSON.stringify(w.core.cron.list(scope("alpha"), {}))).not.toContain(secret);
    expect(JSON.stringify(w.core.cron.update(scope("alpha"), job.id, { name: "renamed" }, { actor: { kind: "tenant", id: "tok:x" }, requestId: "r" }))).not.toContain(secret);
    await w.runUntil(START + MIN);
    expect(r.hits.length).toBe(1);
    const hit = r.hits[0]!;
    expect(hit.path).toBe("/hook");
    const ts = hit.headers["x-openclawmu-timestamp"]!;
    expect(ts).toBe(String(Math.floor((START + MIN) / 1000)));
    const expected = `sha256=${createHmac("sha256", secret).update(`${ts}.${hit.body}`).digest("hex")}`;
    expect(hit.headers["x-openclawmu-signature"]).toBe(expected);
    const body = JSON.parse(hit.body);
    expect(body).toMatchObject({ jobId: job.id, jobName: "renamed", run: { jobId: job.id, status: "ok", output: "hi\n", scheduledAtMs: START + MIN } });
    expect(w.runs("alpha", job.id)[0].delivery).toEqual({ status: "ok" });
  });

  test("webhook: a host not in gateway.cron.webhookAllow is refused at add and, if the list shrank since, at delivery", async () => {
    const r = receiver();
    w = cronWorld({ config: loopback() });
    expect(() => w!.add("alpha", { schedule: { kind: "every", everyMs: MIN }, delivery: { mode: "webhook", url: "https://evil.example.com/" } })).toThrow(
      "delivery.url: evil.example.com:443 is not in the gateway's webhook allow-list (gateway.cron.webhookAllow)",
    );
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: MIN }, delivery: { mode: "webhook", url: `http://127.0.0.1:${r.port}/hook` } });
    const fs = await import("node:fs");
    fs.writeFileSync(w.core.configFile, JSON.stringify({ ...loopback(), gateway: { cron: { minIntervalSeconds: 60, webhookAllow: ["hooks.test:443"] } } }));
    w.core.reloadConfig();
    await w.runUntil(START + MIN);
    expect(r.hits.length).toBe(0);
    expect(w.runs("alpha", job.id)[0].delivery).toEqual({ status: "error", error: `refused by the egress policy: 127.0.0.1:${r.port} is not in the gateway's webhook allow-list (gateway.cron.webhookAllow)` });
  });

  test("webhook: an allowed name that resolves to a private or local address is refused (allowPrivate aside); a private IP literal too", async () => {
    const r = receiver();
    w = cronWorld({ config: { gateway: { cron: { maxConcurrentRunsPerTenant: 5, webhookAllow: ["hooks.test:*", "10.1.2.3:*", "127.0.0.1:*"] } } } });
    // The name resolves to loopback (a rebinding name, a record pointing inside): no allowPrivate here.
    w.core.cronEngine.delivery.lookup = async () => [{ address: "127.0.0.1", family: 4 }];
    const byName = w.add("alpha", { name: "n", schedule: { kind: "every", everyMs: MIN }, delivery: { mode: "webhook", url: `http://hooks.test:${r.port}/x` } });
    const literal = w.add("alpha", { name: "l", schedule: { kind: "every", everyMs: MIN }, delivery: { mode: "webhook", url: "http://10.1.2.3:8080/x" } });
    const local = w.add("alpha", { name: "o", schedule: { kind: "every", everyMs: MIN }, delivery: { mode: "webhook", url: `http://127.0.0.1:${r.port}/x` } });
    await w.runUntil(START + MIN);
    expect(r.hits.length).toBe(0);
    expect(w.runs("alpha", byName.id)[0].delivery.error).toBe("refused by the egress policy: hooks.test resolves to 127.0.0.1 (private, loopback, link-local, metadata or host address)");
    expect(w.runs("alpha", literal.id)[0].delivery.error).toBe("refused by the egress policy: 10.1.2.3 resolves to 10.1.2.3 (private, loopback, link-local, metadata or host address)");
    expect(w.runs("alpha", local.id)[0].delivery.error).toContain("resolves to 127.0.0.1 (private");
  });

  test("webhook: the checked address is the one dialled (no second lookup); a redirect is not followed", async () => {
    const r = receiver((req) => (new URL(req.url).pathname === "/hook" ? new Response(null, { status: 302, headers: { location: "/elsewhere" } }) : new Response("ok")));
    w = cronWorld({ config: loopback() });
    let lookups = 0;
    w.core.cronEngine.delivery.lookup = async () => {
      lookups++;
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const job = w.add("alpha", { schedule: { kind: "every", everyMs: MIN }, delivery: { mode: "webhook", url: `http://hooks.test:${r.port}/hook` } });
    await w.runUntil(START + MIN);
    expect(lookups).toBe(1);
    expect(r.hits.map((h) => [h.path, h.headers.host])).toEqual([["/hook", `hooks.test:${r.port}`]]);
    expect(w.runs("alpha", job.id)[0].delivery).toEqual({ status: "error", error: "the webhook answered HTTP 302 (redirects are not followed)" });
  });

  test("session: the result is a note in the tenant's session transcript", async () => {
    w = cronWorld();
    const job = w.add("alpha", { name: "report", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "exec", command: "echo", args: ["42 widgets"] }, delivery: { mode: "session", sessionKey: "inbox" } });
    await w.runUntil(START + MIN);
    const run = w.runs("alpha", job.id)[0];
    expect(run.delivery).toEqual({ status: "ok" });
    const session = w.core.sessions.get(scope("alpha"), "inbox");
    const entries = w.core.sessions.entries(scope("alpha"), session.sessionId);
    expect(entries.at(-1)).toMatchObject({ type: "assistant", runId: run.id, text: `[cron job "report" (${job.id}), run ${run.id}: ok]\n42 widgets\n` });
    // Only alpha's: beta has no such session.
    expect(() => w!.core.sessions.get(scope("beta"), "inbox")).toThrow("session not found");
  });
});
