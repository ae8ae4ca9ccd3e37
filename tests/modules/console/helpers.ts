// The web console's sign-in driven over real HTTP against a started gateway (tests/helpers/ws.ts).
import { afterEach } from "bun:test";
import { wsWorld, WsClient, type WsWorld } from "../../helpers/ws.ts";

export interface Signed {
  status: number;
  body: any;
  text: string;
  setCookie: string | null;
  /** "ocmu_console=<value>", ready for a Cookie header. */
  cookie: string;
  csrf: string;
}

/** Worlds closed after each test (call once at a test file's top level). */
export function consoleWorlds(): (gateway?: Record<string, unknown>) => WsWorld & { base: string } {
  const open: WsWorld[] = [];
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
  });
  return (gateway = {}) => {
    const w = wsWorld(gateway);
    open.push(w);
    return { ...w, base: w.gw.url };
  };
}

export async function signIn(base: string, body: unknown, headers: Record<string, string> = {}): Promise<Signed> {
  const res = await fetch(`${base}/ui/api/session`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  const setCookie = res.headers.get("set-cookie");
  let parsed: any = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, text, setCookie, cookie: setCookie?.split(";")[0] ?? "", csrf: parsed?.csrfToken ?? "" };
}

/** POST /rpc by cookie (and the CSRF header unless `csrf` is null). */
export async function rpcByCookie(base: string, s: { cookie: string; csrf: string | null }, method: string, params: unknown = {}, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: s.cookie, ...(s.csrf !== null ? { "x-csrf-token": s.csrf } : {}), ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** The gateway's own origin, as a browser page served by it sends it. */
export const originOf = (base: string) => new URL(base).origin;

export function openWs(url: string, headers: Record<string, string>): Promise<WsClient> {
  return WsClient.open(url, { headers });
}
