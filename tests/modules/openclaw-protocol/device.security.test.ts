// Device proofs in `connect`: a valid Ed25519 signature over this connection's nonce is accepted (v3,
// and the legacy v2 payload); a forged signature, another connection's nonce (a replay), a stale or
// future signedAt, an id that is not the key's hash, and a non-operator role are refused with the one
// answer every failed authentication gets — and they count against the authentication throttle.
import { describe, expect, test } from "bun:test";
import { cliParams, harness, newDevice, signDevice, wsWorld, type WsWorld } from "./v4-client.ts";

const h = harness();
let w: WsWorld;

const TUI = (token: string) => cliParams(token, { client: { id: "openclaw-tui", displayName: "openclaw-tui", version: "2026.9.6", platform: "linux", deviceFamily: "Linux", mode: "ui" }, scopes: ["operator.admin", "operator.read", "operator.write", "operator.approvals"] });

/** Opens a connection and sends connect with a device block made by `device(params, nonce)`. */
async function attempt(device: (params: Record<string, any>, nonce: string) => unknown, params?: Record<string, any>) {
  const c = await h.open();
  const { nonce } = await c.challenge();
  const p = params ?? TUI(w.a);
  const res = await c.request("connect", { ...p, device: device(p, nonce) });
  return { c, res };
}

describe("protocol v4: device identity", () => {
  test("a valid v3 proof (as the TUI sends) connects; scopes are clamped to read and write, never admin", async () => {
    w = h.world(wsWorld());
    const dev = newDevice();
    const { res } = await attempt((p, nonce) => signDevice(dev, p, nonce));
    expect(res.ok).toBe(true);
    expect(res.payload.auth).toEqual({ method: "token", role: "operator", scopes: ["operator.read", "operator.write"] });
    expect(res.payload.auth.deviceToken).toBeUndefined();
  });

  test("the legacy v2 payload is accepted too", async () => {
    w = h.world(wsWorld());
    const dev = newDevice();
    const { res } = await attempt((p, nonce) => signDevice(dev, p, nonce, { version: "v2" }));
    expect(res.ok).toBe(true);
  });

  test("forged, replayed, stale, future, wrong-id and wrong-key proofs: the one refusal, close 1008", async () => {
    w = h.world(wsWorld());
    const dev = newDevice();
    const other = newDevice();
    const refusals: unknown[] = [];
    const cases: [string, (p: Record<string, any>, nonce: string) => unknown][] = [
      ["signed by another key", (p, nonce) => ({ ...signDevice(other, p, nonce), id: dev.id, publicKey: dev.publicKey })],
      ["signature over other scopes", (p, nonce) => signDevice(dev, { ...p, scopes: ["operator.read"] }, nonce)],
      ["another connection's nonce (replayed)", (p) => signDevice(dev, p, "14469374-0000-4000-8000-000000000000")],
      ["signed for another nonce than it names", (p, nonce) => ({ ...signDevice(dev, p, nonce, { signNonce: "x" }) })],
      ["signedAt 121 s ago", (p, nonce) => signDevice(dev, p, nonce, { signedAt: Date.now() - 121_000 })],
      ["signedAt 121 s ahead", (p, nonce) => signDevice(dev, p, nonce, { signedAt: Date.now() + 121_000 })],
      ["id not the key's hash", (p, nonce) => ({ ...signDevice(dev, p, nonce), id: other.id })],
      ["a key that is not 32 bytes", (p, nonce) => ({ ...signDevice(dev, p, nonce), publicKey: "AAAA" })],
    ];
    for (const [, make] of cases) {
      const { c, res } = await attempt(make);
      expect(res.ok).toBe(false);
      refusals.push(res.error);
      expect((await c.waitClosed()).code).toBe(1008);
    }
    const wrongToken = await attempt((p, nonce) => signDevice(dev, p, nonce), TUI(`${w.a.slice(0, -2)}zz`));
    refusals.push(wrongToken.res.error);
    for (const r of refusals) expect(r).toEqual(refusals[0]);
    expect(refusals[0]).toMatchObject({ code: "INVALID_REQUEST", details: { code: "AUTH_TOKEN_MISMATCH" } });
  });

  test("the same connect (same nonce, same signature) replayed on a new connection is refused", async () => {
    w = h.world(wsWorld());
    const dev = newDevice();
    let captured: Record<string, unknown> | null = null;
    const first = await attempt((p, nonce) => (captured = { ...p, device: signDevice(dev, p, nonce) }).device);
    expect(first.res.ok).toBe(true);
    const c = await h.open();
    await c.challenge();
    const replay = await c.request("connect", captured!);
    expect(replay.ok).toBe(false);
    expect(replay.error.details.code).toBe("AUTH_TOKEN_MISMATCH");
    expect((await c.waitClosed()).code).toBe(1008);
  });

  test("bad proofs count against the authentication throttle like wrong tokens (the same throttle as /rpc)", async () => {
    w = h.world(wsWorld({ authThrottle: { perIpMaxFailures: 3, perIpTenantMaxFailures: 3 } }));
    const wrongRpc = () => fetch(`${w.gw.url}/rpc`, { method: "POST", headers: { authorization: "Bearer ocmu_nobody_0123456789abcdefghijklmnopqrstuv", "content-type": "application/json" }, body: '{"jsonrpc":"2.0","id":1,"method":"health"}' });
    const dev = newDevice();
    for (let i = 0; i < 3; i++) {
      const { res } = await attempt((p, nonce) => signDevice(dev, p, nonce, { signedAt: 1 }));
      expect(res.ok).toBe(false);
    }
    // Three failures from this address: it is blocked now, for /rpc as for `/`.
    expect((await wrongRpc()).status).toBe(429);
    // A token that verifies is still served (the throttle only answers failing credentials).
    const { res } = await attempt((p, nonce) => signDevice(dev, p, nonce));
    expect(res.ok).toBe(true);
  });

  test("a role other than operator is refused the same way", async () => {
    w = h.world(wsWorld());
    const c = await h.open();
    await c.challenge();
    const res = await c.request("connect", cliParams(w.a, { role: "node" }));
    expect(res.error.details.code).toBe("AUTH_TOKEN_MISMATCH");
  });
});
