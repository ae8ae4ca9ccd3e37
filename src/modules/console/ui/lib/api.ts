// The console's one way to reach the gateway: the public surfaces only. The tenant face speaks
// JSON-RPC over the cookie-authenticated WebSocket on /rpc (reconnecting); the operator face calls
// /admin/v1 with the cookie and the CSRF token on every non-GET. The token or admin key is sent once,
// to POST /ui/api/session, and never kept by the page (the session is an HttpOnly cookie).

export interface PageMeta {
  id: string;
  title: string;
  face: "tenant" | "operator";
  order: number;
}

export interface Session {
  kind: "tenant" | "admin";
  tenantId?: string;
  csrfToken: string;
  expiresAt: string;
  pages: PageMeta[];
}

export class ApiError extends Error {
  code: string;
  status: number;
  constructor(code: string, message: string, status = 0) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

export interface Api {
  session: Session;
  /** Tenant face: JSON-RPC over the cookie-authenticated WebSocket (reconnects). */
  rpc<T = unknown>(method: string, params?: object): Promise<T>;
  /** Tenant face: fire-and-forget JSON-RPC notification (terminal keystrokes). */
  notify(method: string, params?: object): void;
  /** WS notifications by method; returns the unsubscribe. */
  onEvent(method: string, fn: (params: any) => void): () => void;
  /** Operator face: /admin/v1 + path, by cookie, x-csrf-token on non-GET. */
  admin<T = unknown>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T>;
  signOut(): Promise<void>;
}

/** An error envelope ({"error":{code,message}}) or a non-JSON failure, as an ApiError. */
async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e?.code) return new ApiError(e.code, e.message ?? e.code, res.status);
  } catch {
    // not JSON
  }
  return new ApiError(res.status === 401 ? "UNAUTHORIZED" : "HTTP_" + res.status, text.slice(0, 200) || `HTTP ${res.status}`, res.status);
}

async function sessionCall(method: "GET" | "POST" | "DELETE", body?: unknown, csrf?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (csrf) headers["x-csrf-token"] = csrf;
  return fetch("/ui/api/session", { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
}

/** The session of the cookie, or null when there is none (or it ended). */
export async function currentSession(): Promise<Session | null> {
  const res = await sessionCall("GET");
  if (res.status === 401) return null;
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as Session;
}

/** Exchanges a tenant token (ocmu_…) or the admin key (ocmu_admin_…) for the session cookie. */
export async function signIn(secret: string): Promise<Session> {
  const s = secret.trim();
  const res = await sessionCall("POST", s.startsWith("ocmu_admin_") ? { adminKey: s } : { token: s });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as Session;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** The tenant WebSocket: one at a time, reopened (with backoff) when it drops while in use. */
class RpcSocket {
  private ws: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, Set<(p: any) => void>>();
  private retry = 0;
  private closed = false;
  /** Called when the socket was refused for good (the session ended): the page signs out. */
  onEnded: (() => void) | null = null;
  /** Called when a handshake fails: the owner checks whether the session is still there. */
  onRefused: (() => void) | null = null;

  private url(): string {
    return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/rpc`;
  }

  private open(): Promise<WebSocket> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    if (this.opening) return this.opening;
    this.opening = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.url());
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.retry = 0;
        this.ws = ws;
        this.opening = null;
        resolve(ws);
        this.emit("$open", {});
      };
      ws.onmessage = (ev) => this.onMessage(String(ev.data));
      ws.onclose = (ev) => {
        this.opening = null;
        if (this.ws === ws) this.ws = null;
        for (const p of this.pending.values()) p.reject(new ApiError("UNAVAILABLE", "the connection to the gateway closed; try again"));
        this.pending.clear();
        if (!opened) {
          reject(new ApiError("UNAVAILABLE", "could not connect to the gateway"));
          // A refused handshake says no why: an ended session (expired, revoked) signs the page out.
          if (!this.closed) this.onRefused?.();
        }
        this.emit("$close", { code: ev.code, reason: ev.reason });
        // 4001-ish / identity ended: the session is over. Anything else: reconnect if someone listens.
        if (this.closed) return;
        if (ev.code === 4001 || ev.code === 4003 || /identity|unauthori/i.test(ev.reason)) return this.onEnded?.();
        if (this.listeners.size > 0) {
          const delay = Math.min(10_000, 250 * 2 ** this.retry++);
          setTimeout(() => {
            if (!this.closed && !this.ws) this.open().catch(() => undefined);
          }, delay);
        }
      };
    });
    return this.opening;
  }

  private onMessage(text: string): void {
    let msg: { id?: number; result?: unknown; error?: { code: number; message: string; data?: { code?: string } }; method?: string; params?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.method && msg.id === undefined) return this.emit(msg.method, msg.params);
    if (typeof msg.id !== "number") return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) p.reject(new ApiError(msg.error.data?.code ?? String(msg.error.code), msg.error.message));
    else p.resolve(msg.result);
  }

  private emit(method: string, params: unknown): void {
    for (const fn of this.listeners.get(method) ?? []) {
      try {
        fn(params);
      } catch (err) {
        console.error(err);
      }
    }
  }

  async call<T>(method: string, params?: object): Promise<T> {
    const ws = await this.open();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: params ?? {} }));
    });
  }

  notify(method: string, params?: object): void {
    this.open()
      .then((ws) => ws.send(JSON.stringify({ jsonrpc: "2.0", method, params: params ?? {} })))
      .catch(() => undefined);
  }

  on(method: string, fn: (p: any) => void): () => void {
    let set = this.listeners.get(method);
    if (!set) this.listeners.set(method, (set = new Set()));
    set.add(fn);
    // Listening means wanting the events: make sure the socket is open.
    this.open().catch(() => undefined);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(method);
    };
  }

  close(): void {
    this.closed = true;
    this.ws?.close(1000, "signed out");
  }
}

/** The shell's handle: the Api pages get, and `dispose` (closes the socket for good) for the shell. */
export function createApi(session: Session, onEnded: () => void): Api & { dispose(): void } {
  const sock = new RpcSocket();
  sock.onEnded = onEnded;
  sock.onRefused = () => {
    currentSession().then((s) => s === null && onEnded(), () => undefined);
  };
  return {
    session,
    rpc: (method, params) => sock.call(method, params),
    notify: (method, params) => sock.notify(method, params),
    onEvent: (method, fn) => sock.on(method, fn),
    async admin<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = {};
      if (method !== "GET") headers["x-csrf-token"] = session.csrfToken;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`/admin/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
      if (res.status === 401) onEnded();
      if (!res.ok) throw await errorOf(res);
      if (res.status === 204) return undefined as T;
      const type = res.headers.get("content-type") ?? "";
      return (type.includes("json") ? await res.json() : await res.text()) as T;
    },
    dispose: () => sock.close(),
    async signOut() {
      sock.close();
      const res = await sessionCall("DELETE", undefined, session.csrfToken);
      if (!res.ok && res.status !== 401) throw await errorOf(res);
    },
  };
}
