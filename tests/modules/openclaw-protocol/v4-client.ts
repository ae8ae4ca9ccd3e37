// A hand-written protocol-v4 client (Bun's WebSocket): what upstream's clients send and read, without
// their library, so every frame of the handshake and its failures can be looked at and forged.
import { afterEach } from "bun:test";
import crypto from "node:crypto";
import { startGateway } from "../../../src/http/gateway.ts";
import { createTenant, testCore } from "../../helpers/core.ts";
import { WsClient, wsWorld, type WsWorld } from "../../helpers/ws.ts";

export { wsWorld, type WsWorld };

/** Like wsWorld, with the rest of the config too (providers, models …). */
export function v4World(gateway: Record<string, unknown>, config: Record<string, unknown>): WsWorld {
  const core = testCore({ config: { gateway: { port: 0, accessLog: false, ...gateway }, ...config } });
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  const gw = startGateway(core);
  return { core, a, b, gw, url: `${gw.url.replace("http", "ws")}/`, close: () => gw.stop() };
}

/** upstream's `openclaw agent` connect params (cli, loopback, no device), with `over` merged in. */
export function cliParams(token: string | null, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client: { id: "cli", version: "2026.9.6", platform: "linux", deviceFamily: "Linux", mode: "cli", instanceId: crypto.randomUUID() },
    caps: [],
    ...(token === null ? {} : { auth: { token } }),
    role: "operator",
    scopes: ["operator.read"],
    ...over,
  };
}

export interface Device {
  id: string;
  publicKey: string;
  privateKey: crypto.KeyObject;
}

export function newDevice(): Device {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12);
  return { id: crypto.createHash("sha256").update(raw).digest("hex"), publicKey: raw.toString("base64url"), privateKey };
}

/** The device block upstream's client signs (v3 payload), with fields overridable to forge it. */
export function signDevice(dev: Device, params: Record<string, any>, nonce: string, opts: { signedAt?: number; version?: "v2" | "v3"; signNonce?: string } = {}) {
  const signedAt = opts.signedAt ?? Date.now();
  const c = params.client;
  const lower = (s?: string) => (s ?? "").trim().toLowerCase();
  const base = [dev.id, c.id, c.mode, params.role ?? "operator", (params.scopes ?? []).join(","), String(signedAt), params.auth?.token ?? "", opts.signNonce ?? nonce];
  const payload = (opts.version === "v2" ? ["v2", ...base] : ["v3", ...base, lower(c.platform), lower(c.deviceFamily)]).join("|");
  const signature = crypto.sign(null, Buffer.from(payload), dev.privateKey).toString("base64url");
  return { id: dev.id, publicKey: dev.publicKey, signature, signedAt, nonce };
}

export class V4Client {
  private n = 1;
  private constructor(readonly raw: WsClient) {}

  static async open(w: WsWorld, headers: Record<string, string> = {}): Promise<V4Client> {
    const raw = await WsClient.open(`${w.gw.url.replace("http", "ws")}/`, { headers });
    return new V4Client(raw);
  }

  get messages(): any[] {
    return this.raw.messages;
  }

  async challenge(): Promise<{ nonce: string; ts: number }> {
    return (await this.raw.next((m) => m.type === "event" && m.event === "connect.challenge", "connect.challenge")).payload;
  }

  /** Sends a request; resolves with its (first) response. */
  request(method: string, params?: unknown, id = `${this.n++}:${crypto.randomUUID()}`): Promise<any> {
    this.raw.send({ type: "req", id, method, ...(params === undefined ? {} : { params }) });
    return this.raw.next((m) => m.type === "res" && m.id === id, `response to ${method}`);
  }

  /** connect; the hello-ok payload (throws with the error when refused). */
  async connect(params: Record<string, unknown>): Promise<any> {
    const res = await this.request("connect", params);
    if (!res.ok) throw Object.assign(new Error(res.error.message), { error: res.error });
    return res.payload;
  }

  events(name?: string): any[] {
    return this.messages.filter((m) => m.type === "event" && (name === undefined || m.event === name));
  }

  nextEvent(name: string, timeoutMs = 5000): Promise<any> {
    const seen = this.events(name).length;
    return this.raw.next((m) => m.type === "event" && m.event === name && this.events(name).indexOf(m) >= seen, `event ${name}`, timeoutMs);
  }

  waitClosed(timeoutMs = 5000) {
    return this.raw.waitClosed(timeoutMs);
  }

  close(): void {
    this.raw.close();
  }
}

/** A connection opened, challenged and connected as tenant `token` (cli params, `over` merged). */
export async function connected(w: WsWorld, token: string, over: Record<string, unknown> = {}) {
  const c = await V4Client.open(w);
  await c.challenge();
  const hello = await c.connect(cliParams(token, over));
  return { c, hello };
}

/**
 * Per-test worlds and clients, closed after each test: `const h = harness()` at the top of a file,
 * then `const w = h.world(wsWorld())`, `await h.open()`, `await h.connect(token)`.
 */
export function harness() {
  let current: WsWorld | null = null;
  const clients: V4Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await current?.close();
    current = null;
  });
  return {
    world(w: WsWorld): WsWorld {
      current = w;
      return w;
    },
    /** The world was stopped by the test itself. */
    stopped(): void {
      current = null;
    },
    async open(headers: Record<string, string> = {}): Promise<V4Client> {
      const c = await V4Client.open(current!, headers);
      clients.push(c);
      return c;
    },
    async connect(token: string, over: Record<string, unknown> = {}) {
      const r = await connected(current!, token, over);
      clients.push(r.c);
      return r;
    },
  };
}
