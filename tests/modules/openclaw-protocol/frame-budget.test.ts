// Every frame an authenticated protocol-v4 connection sends takes from its frame budget
// (gateway.websocket.messagesPerSecond / messagesBurst) before anything else is done with it, and a
// frame that is not a request is logged once per connection, not once per frame: a client sending
// garbage as fast as it can must cost neither the gateway's disk (log volume) nor a free pass past the
// rate that bounds its requests. (Found by the issue-14 red team: 20,000 one-byte frames took 0.8 s and
// wrote 2.9 MB of log, and the connection's requests were still not limited.)
import { describe, expect, test } from "bun:test";
import { startGateway } from "../../../src/http/gateway.ts";
import { captureLog, createTenant, testCore } from "../../helpers/core.ts";
import { cliParams, harness } from "./v4-client.ts";

const h = harness();

function loggedWorld() {
  const { log, lines } = captureLog();
  const core = testCore({ config: { gateway: { port: 0, accessLog: false, websocket: { messagesPerSecond: 1, messagesBurst: 5 } } }, log });
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  const gw = startGateway(core);
  return { w: h.world({ core, a, b, gw, url: `${gw.url.replace("http", "ws")}/`, close: () => gw.stop() }), lines };
}

describe("protocol v4: frames that are not requests", () => {
  test("are logged once per connection however many come, take from the connection's frame budget, and end a connection that keeps sending them", async () => {
    const { w, lines } = loggedWorld();
    const { c } = await h.connect(w.a, { scopes: ["operator.read"] });
    // The burst (5) goes on the garbage; the next frames are refused, and a connection that keeps
    // sending after its refusals (another burst of them) is closed 1008 (red-team recheck F4): before,
    // it was read and parsed at whatever rate it sent.
    for (let i = 0; i < 300; i++) c.raw.send(i % 2 ? "x" : '{"type":"res"}');
    c.raw.send({ type: "req", id: "h", method: "health", params: {} });
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    expect(c.messages.some((m) => m.type === "res" && m.id === "h" && m.ok)).toBe(false);
    const ignored = lines.filter((l) => String(l.msg).startsWith("v4 frame ignored"));
    expect(ignored.length).toBe(1);
    // The close says how many there were, once.
    const until = Date.now() + 5000;
    while (!lines.some((l) => String(l.msg).startsWith("v4 frames ignored")) && Date.now() < until) await Bun.sleep(10);
    const summary = lines.filter((l) => String(l.msg).startsWith("v4 frames ignored"));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ tenant: "alpha" });
    expect(summary[0]!.frames).toBeGreaterThanOrEqual(5);
  });

  test("a connection within its budget is served as before", async () => {
    const { w } = loggedWorld();
    const { c } = await h.connect(w.a, { scopes: ["operator.read"] });
    c.raw.send("not json");
    const r = await c.request("health", {});
    expect(r.ok).toBe(true);
  });
});
