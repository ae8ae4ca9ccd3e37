// Our frames checked against upstream's OWN protocol schemas (TypeBox, from the pinned `openclaw`
// package the client tests install — the same place tests/clients finds it): hello-ok inside the
// closed HelloOkSchema, agents.list inside AgentsListResultSchema, tick/shutdown events, response
// and error frames. A field we add that upstream's schema lacks, or one it requires that we omit,
// fails here before a client trips on it.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { harness, v4World } from "./v4-client.ts";

const ROOT = path.join(import.meta.dir, "..", "..", "..");
const UPSTREAM_DIR = process.env.OPENCLAW_UPSTREAM_DIR ?? path.join(ROOT, ".cache", "openclaw-upstream");
const DIST = path.join(UPSTREAM_DIR, "node_modules", "openclaw", "dist");
/** Where the pinned 2026.9.6 build keeps the schemas, and the names its bundler exported them under. */
const FILES = { frames: "sessions-KsldKmtI.mjs", agents: "agents-models-skills-ChHh3UoN.mjs" };

async function upstreamSchemas() {
  for (const f of Object.values(FILES)) {
    if (!fs.existsSync(path.join(DIST, f))) throw new Error(`upstream OpenClaw 2026.9.6 is not installed at ${UPSTREAM_DIR} (${f} missing): run scripts/test.sh or set OPENCLAW_UPSTREAM_DIR`);
  }
  const frames = await import(path.join(DIST, FILES.frames));
  const agents = await import(path.join(DIST, FILES.agents));
  const { Value } = await import(path.join(UPSTREAM_DIR, "node_modules", "typebox", "build", "value", "index.mjs"));
  const check = (schema: unknown, value: unknown) => ({ ok: Value.Check(schema, value), errors: Value.Check(schema, value) ? [] : [...Value.Errors(schema, value)].slice(0, 5).map((e: any) => `${e.instancePath ?? e.path}: ${e.message}`) });
  return { check, HelloOk: frames.$t, ErrorShape: frames.Xt, EventFrame: frames.Zt, ResponseFrame: frames.tn, Shutdown: frames.nn, Tick: frames.rn, AgentsList: agents.g };
}

const h = harness();
const WITH_MODEL = { providers: { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } }, models: { m: { provider: "p", upstreamModel: "m", free: true } } };

describe("protocol v4 against upstream's own schemas", () => {
  test("hello-ok (with sessions in the snapshot), agents.list, tick, an error and shutdown fit them", async () => {
    const s = await upstreamSchemas();
    const w = h.world(v4World({ openclawProtocol: { tickIntervalMs: 1000 } }, WITH_MODEL));
    w.core.runs.send(scope("alpha"), { sessionKey: "one", message: "hi" }, operatorCtx);
    const { c, hello } = await h.connect(w.a, { scopes: ["operator.read", "operator.write"] });
    expect(s.check(s.HelloOk, hello)).toEqual({ ok: true, errors: [] });
    // The schema is closed: it would notice a field upstream does not know.
    expect(s.check(s.HelloOk, { ...hello, snapshot: { ...hello.snapshot, tenants: [] } }).ok).toBe(false);
    const res = await c.request("agents.list", {});
    expect(s.check(s.ResponseFrame, res)).toEqual({ ok: true, errors: [] });
    expect(s.check(s.AgentsList, res.payload)).toEqual({ ok: true, errors: [] });
    const bad = await c.request("nope", {});
    expect(s.check(s.ErrorShape, bad.error)).toEqual({ ok: true, errors: [] });
    const tick = await c.nextEvent("tick", 3000);
    expect(s.check(s.EventFrame, tick)).toEqual({ ok: true, errors: [] });
    expect(s.check(s.Tick, tick.payload)).toEqual({ ok: true, errors: [] });
    const stopping = w.gw.stop();
    const shutdown = await c.nextEvent("shutdown");
    expect(s.check(s.Shutdown, shutdown.payload)).toEqual({ ok: true, errors: [] });
    await stopping;
    h.stopped();
  });
});
