// The edge every request passes, before and after routing: request id, client IP, limits, security
// headers and authentication first (onRequest); bodies read within their surface's limit and parsed
// (onParse); every error turned into its surface's envelope (onError); one access-log line and the
// metrics last (onAfterResponse).
import type { Core } from "../app/core.ts";
import { formatKeyPath } from "../config/key-path.ts";
import { AppError, toAppError } from "../core/errors.ts";
import { requestInfo, setRequestInfo, targetOf, type RequestInfo } from "../edge/request-info.ts";
import { API_HEADERS, DOCS_CSP } from "../edge/security-headers.ts";
import { isApiSurface, surfaceOf } from "../edge/surface.ts";
import { clientRequestId, newRequestId } from "../lib/ids.ts";
import { depthMessage, findReservedKey, jsonDepthExcess, RESERVED_KEY_MESSAGE } from "../lib/json-safe.ts";
import { subprotocolBearer, type Auth } from "./auth.ts";
import { buildTrustList, fromTrustedProxy, resolveClientIp } from "./client-ip.ts";
import { createConsoleAuth, type ConsoleAuth } from "./console-auth.ts";
import { errorResponse } from "./errors.ts";
import { bodyLimit, checkDeclaredBody, checkHeaders, readCapped } from "./limits.ts";

export interface EdgeOptions {
  /** Socket peer address; tests inject one, the server asks Bun. */
  peerIp?: (request: Request) => string | undefined;
}

type ElysiaCode = string | number;

/** The body of a /channels/ request as the edge leaves it: unread (the route reads the raw bytes). */
export const RAW_BODY = Object.freeze({ raw: true });
/** The body of the channels module's identical refusal (modules/channels/ingest.ts REFUSAL). */
const CHANNEL_REFUSAL = '{"error":"unauthorized"}';
type EdgeSet = { headers: Record<string, string | number> };
type Server = { requestIP(r: Request): { address: string } | null } | null;

function fromElysia(code: ElysiaCode, error: unknown, method: string, pathname: string): AppError {
  if (error instanceof AppError) return error;
  switch (code) {
    case "NOT_FOUND":
      return new AppError("NOT_FOUND", `no route for ${method} ${pathname.slice(0, 200)}`);
    case "PARSE": {
      const cause = (error as { cause?: unknown }).cause;
      return cause instanceof AppError ? cause : new AppError("BAD_REQUEST", "request body could not be parsed");
    }
    case "VALIDATION": {
      const v = error as { type?: string; all?: { path?: string; message?: string; summary?: string }[] };
      const first = v.all?.[0];
      const where = `${v.type ?? "request"}${first?.path ? first.path.replaceAll("/", ".") : ""}`;
      const what = (first?.summary ?? first?.message ?? "is invalid").replace(/^Expected/, "expected");
      if (v.type === "response") return new AppError("INTERNAL", "internal error", { cause: error });
      return new AppError("INVALID_PARAMS", `${where}: ${what}`);
    }
    default:
      return toAppError(error);
  }
}

/** Remembers an error response's status for the access log and metrics (they run after it is sent). */
function statusOf(request: Request, res: Response): Response {
  try {
    requestInfo(request).status = res.status;
  } catch {
    // no info: the request never got that far
  }
  return res;
}

export function createEdge(core: Core, auth: Auth, opts: EdgeOptions = {}, cookies: ConsoleAuth = createConsoleAuth(core, auth)) {
  const log = core.log.withTag("http");
  const access = core.log.withTag("access");
  const finished = new WeakSet<Request>();
  /** Counts the request and writes its access-log line, once (early refusals skip Elysia's hooks). */
  const finish = (request: Request, info: RequestInfo, route: string, status: number) => {
    if (finished.has(request)) return;
    finished.add(request);
    const ms = info.startedAt === undefined ? 0 : performance.now() - info.startedAt;
    const tenant = info.tenant?.tenantId;
    core.metrics.request(route, request.method, status, ms / 1000, tenant);
    if (core.config.gateway.accessLog) access.info("request", { requestId: info.requestId, clientRequestId: info.clientRequestId, method: request.method.slice(0, 32), route, status, ms: Math.round(ms * 10) / 10, tenant, ip: info.ip });
  };
  /** An error answered in onRequest, before routing: its route is the surface's ("unrouted:<surface>"). */
  const early = (request: Request, res: Response): Response => {
    statusOf(request, res);
    finish(request, infoOrFallback(request), `unrouted:${infoOrFallback(request).surface}`, res.status);
    return res;
  };
  /** The request's info; a request that failed before the edge set it gets a minimal one now. */
  const infoOrFallback = (request: Request): RequestInfo => {
    try {
      return requestInfo(request);
    } catch {
      const { pathname } = targetOf(request);
      const info = { requestId: newRequestId(), ip: "unknown", path: pathname, surface: surfaceOf(pathname), startedAt: performance.now() };
      setRequestInfo(request, info);
      return info;
    }
  };
  /** A failure of the edge itself: one log line (no stack on stderr), an INTERNAL envelope with every header. */
  const edgeFailure = (request: Request, err: unknown): Response => {
    const info = infoOrFallback(request);
    log.error("request failed at the edge", { requestId: info.requestId, error: err instanceof Error ? err.message : String(err) });
    return early(request, errorResponse(new AppError("INTERNAL", "internal error"), info.surface, info.requestId));
  };
  let trustFor: readonly string[] | null = null;
  let trust = buildTrustList([]);
  const trustList = () => {
    const proxies = core.config.gateway.trustedProxies;
    if (proxies !== trustFor) {
      trust = buildTrustList(proxies);
      trustFor = proxies;
    }
    return proxies.length ? trust : null;
  };

  /** Everything before routing: request id, client IP, limits, authentication. Returns a refusal or nothing. */
  const admit = (request: Request, set: EdgeSet, server: Server): Response | undefined => {
    const { pathname, absolute } = targetOf(request);
    const surface = surfaceOf(pathname);
    const requestId = newRequestId();
    const peer = opts.peerIp ? opts.peerIp(request) : server?.requestIP(request)?.address;
    const ip = resolveClientIp(peer, request.headers.get("x-forwarded-for"), trustList());
    const info: RequestInfo = { requestId, clientRequestId: clientRequestId(request.headers.get("x-request-id")), ip, path: pathname, surface, startedAt: performance.now() };
    setRequestInfo(request, info);
    // The routed chat path writes these headers into its own Response (so Elysia need not merge
    // headers on the hot path); every other response gets them here, errors in errorResponse.
    if (!(isApiSurface(surface) && request.method === "POST")) {
      Object.assign(set.headers, API_HEADERS);
      set.headers["x-request-id"] = requestId;
      if (surface === "docs") set.headers["content-security-policy"] = DOCS_CSP;
    }
    // Bun hands over an HTTP/1.0 request without a Host header with a relative URL: nothing downstream
    // (routing included) may see one, so it is refused here, with the same headers and log line as any.
    if (!absolute) return early(request, errorResponse(new AppError("BAD_REQUEST", "the request has no Host header"), surface, requestId));
    const limitError = checkHeaders(request.headers, core.config) ?? checkDeclaredBody(request.headers, bodyLimit(core.config, surface));
    // A chat platform's webhook gets the channels module's one identical refusal for any reason.
    if (limitError && surface === "channels") return early(request, new Response(CHANNEL_REFUSAL, { status: 401, headers: { ...API_HEADERS, "content-type": "application/json", "x-request-id": requestId } }));
    if (limitError) return early(request, errorResponse(limitError, surface, requestId));
    // Authenticate before any body is read or parsed: unauthenticated callers cost almost nothing.
    try {
      const caller = { ip, requestId, clientRequestId: info.clientRequestId, method: request.method, path: pathname };
      // The web console's cookie session is used only where no bearer credential is presented.
      if (surface === "control") {
        if (pathname.startsWith("/admin/v1/") || pathname === "/metrics") {
          const byCookie = pathname.startsWith("/admin/v1/") && !request.headers.has("authorization") && cookies.present(request);
          info.admin = byCookie ? cookies.admin(request, caller) : auth.admin(request, caller);
          info.actor = info.admin.actor;
        } else if (pathname.startsWith("/ui/")) {
          // Whether the browser reached the gateway over TLS: the session cookie is Secure then.
          info.viaTls = absolute && (new URL(request.url).protocol === "https:" || (fromTrustedProxy(peer, trustList()) && request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https"));
        }
      } else if (surface === "rpc" && pathname === "/rpc" && (request.method === "POST" || request.method === "GET") && !request.headers.has("authorization") && !(request.method === "GET" && subprotocolBearer(request)) && cookies.present(request)) {
        const who = cookies.tenant(request, caller, { websocket: request.method === "GET" });
        info.actor = who.actor;
        info.tenant = who.tenant;
      } else if (isApiSurface(surface) || surface === "ws" || surface === "mcp" || (surface === "rpc" && !(request.method === "GET" && pathname === "/rpc/openrpc.json"))) {
        // GET /rpc is the WebSocket's handshake: its token may come as a subprotocol too.
        const who = auth.tenant(request, caller, { websocket: surface === "rpc" && request.method === "GET" && pathname === "/rpc", apiKeyHeader: surface === "anthropic" });
        info.actor = who.actor;
        info.tenant = who.tenant;
        // (x-ratelimit-* headers: admission sets them on routed responses; see onError and /v1/models.)
      }
    } catch (err) {
      return early(request, errorResponse(toAppError(err), surface, requestId));
    }
    return undefined;
  };

  // Arrow functions with their context destructured: Elysia reads a hook's source to learn which
  // parts of the context it uses (and parses only those); method shorthand defeats that reading.
  return {
    onRequest: ({ request, set, server }: { request: Request; set: unknown; server: Server }) => {
      try {
        return admit(request, set as EdgeSet, server);
      } catch (err) {
        return edgeFailure(request, err);
      }
    },

    onParse: async ({ request, contentType }: { request: Request; contentType: string }) => {
      if (request.method === "GET" || request.method === "HEAD") return;
      const info = requestInfo(request);
      // A chat platform's webhook reads its own bytes (its signature is over them): nothing is parsed here.
      if (info.surface === "channels") return RAW_BODY;
      const text = await readCapped(request, bodyLimit(core.config, info.surface));
      // JSON-RPC bodies (/rpc, /mcp) are parsed by their own dispatch, which answers in JSON-RPC.
      if (info.surface === "rpc" || info.surface === "mcp") return text;
      if (text.trim() === "") return {};
      if (!/[/+]json\b/i.test(contentType)) throw new AppError("UNSUPPORTED_MEDIA_TYPE", "request body must be application/json");
      // Refused before parsing, in one pass: nothing after this (reserved-key walk, validation,
      // translation, JSON.stringify) ever sees a document deeper than the limit.
      const depth = core.config.gateway.limits.jsonMaxDepth;
      const tooDeep = jsonDepthExcess(text, depth);
      if (tooDeep !== null) throw new AppError("BAD_REQUEST", `request body is ${depthMessage(depth, "gateway.limits.jsonMaxDepth")} (at character ${tooDeep})`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (err) {
        throw new AppError("BAD_REQUEST", `request body is not valid JSON: ${(err as Error).message}`);
      }
      // Control-plane bodies are merged into records: no reserved key names. (Chat bodies are
      // forwarded to providers, never merged, and may legitimately carry such names in tool schemas.)
      const reserved = isApiSurface(info.surface) ? null : findReservedKey(parsed);
      if (reserved) throw new AppError("INVALID_PARAMS", `body: "${formatKeyPath(reserved)}" ${RESERVED_KEY_MESSAGE}`);
      return parsed;
    },

    onError: ({ request, code, error }: { request: Request; code: ElysiaCode; error: unknown }) => {
      try {
        const info = infoOrFallback(request);
        const appError = fromElysia(code, error, request.method, info.path);
        if (appError.code === "INTERNAL") log.error("request failed", { requestId: info.requestId, path: info.path, error: String(appError.cause ?? error) });
        const res = statusOf(request, errorResponse(appError, info.surface, info.requestId));
        // Tenants see their limits on every OpenAI-route response, refusals and errors included.
        const tenant = isApiSurface(info.surface) ? info.tenant : undefined;
        if (tenant) for (const [k, v] of Object.entries(core.quotaEngine.headers(tenant))) if (!res.headers.has(k)) res.headers.set(k, v);
        return res;
      } catch (err) {
        // The error handler must not fail: Elysia's fallback would be a bare 500 without our headers.
        return edgeFailure(request, err);
      }
    },

    /** Metrics and the access log: one line per request, with its id, route template, status and time. */
    onAfterResponse: (ctx: { request: Request; set: { status?: unknown } }) => {
      let info: RequestInfo;
      try {
        info = requestInfo(ctx.request);
      } catch {
        return;
      }
      const value = (ctx as unknown as { responseValue?: unknown }).responseValue;
      const status = info.status ?? (value instanceof Response ? value.status : Number(ctx.set.status ?? 200));
      finish(ctx.request, info, (ctx as unknown as { route?: string }).route || "unmatched", status);
    },
  };
}
