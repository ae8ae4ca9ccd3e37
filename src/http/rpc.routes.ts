// POST /rpc: tenant JSON-RPC 2.0 (single or batch) with the tenant token as Bearer.
// GET /rpc/openrpc.json: the method registry as an OpenRPC document.
//
// What one tenant can make the gateway hold is bounded: at most `rpcConcurrentPerTenant` of its
// requests are in progress at once (more get RATE_LIMITED with Retry-After), each returns at most
// `rpcResponseBytes` of results, and a request keeps its place until its response has been sent —
// a large one is streamed out, so a client that reads slowly holds its own slot, not more memory.
// Its body and every result made for it are charged to the tenant's byte budget, the one its
// WebSocket frames draw on (modules/ws/ws.budget.ts): moving to POST does not escape it, and while
// it is in debt a request is refused (RATE_LIMITED, Retry-After), not run.
import { Elysia } from "elysia";
import type { Core } from "../app/core.ts";
import { AppError } from "../core/errors.ts";
import { requestInfo } from "../edge/request-info.ts";
import { IdentityEnded } from "../edge/tenant-scope.ts";
import type { Auth } from "./auth.ts";
import { bodyLimit, readCapped } from "./limits.ts";
import { dispatch, type DispatchOutput } from "./rpc-dispatch.ts";
import type { Admission as RpcAdmission } from "../modules/admission/admission.service.ts";
import type { RpcRegistry } from "./rpc-registry.ts";

/** Below this a response is sent as one string (the socket's buffer takes it); above, it is streamed. */
const STREAM_FROM_BYTES = 64 * 1024;
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

export function rpcRoutes(core: Core, auth: Auth, registry: RpcRegistry, admission: RpcAdmission) {
  const log = core.log.withTag("rpc");
  const admit = (tenantId: string) => admission.admit(tenantId);

  function respond(out: DispatchOutput, release: () => void, signal: AbortSignal): Response {
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (out.retryAfterSeconds) headers["retry-after"] = String(out.retryAfterSeconds);
    if (out.bytes < STREAM_FROM_BYTES) {
      release();
      return new Response(out.batch ? `[${out.parts.join(",")}]` : out.parts[0]!, { headers });
    }
    // Streamed part by part, each dropped once it is handed over; the place is kept until the last
    // byte is taken, or the client goes.
    const parts = out.parts;
    let next = 0;
    const encoder = new TextEncoder();
    if (signal.aborted) release();
    else signal.addEventListener("abort", release, { once: true });
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next >= parts.length) {
          if (out.batch) controller.enqueue(encoder.encode("]"));
          controller.close();
          release();
          return;
        }
        const i = next++;
        const text = out.batch ? `${i === 0 ? "[" : ","}${parts[i]}` : parts[i]!;
        parts[i] = "";
        controller.enqueue(encoder.encode(text));
      },
      cancel() {
        parts.length = 0;
        release();
      },
    });
    return new Response(body, { headers });
  }

  return new Elysia()
    .get("/rpc/openrpc.json", () => registry.openrpc(core.version), { detail: { hide: true } })
    .post(
      "/rpc",
      async ({ request, body }) => {
        const info = requestInfo(request);
        // Authenticated at the edge, before the body was read; the identity is re-checked per item.
        const tenant = info.tenant!;
        const tenantId = tenant.tenantId;
        const release = admit(tenantId);
        try {
          const caller = { ip: info.ip, requestId: info.requestId, clientRequestId: info.clientRequestId, method: "POST", path: "/rpc" };
          const op = { actor: info.actor!, requestId: info.requestId, clientRequestId: info.clientRequestId, ip: info.ip };
          const text = typeof body === "string" ? body : await readCapped(request, bodyLimit(core.config, "rpc"));
          const bytes = core.wsConnections.requestBudget(tenantId);
          const refused = bytes.take(text.length);
          if (refused) {
            throw new AppError("RATE_LIMITED", refused.message, {
              headers: { "retry-after": String(refused.retryAfterSeconds) },
              details: { retryAfterSeconds: refused.retryAfterSeconds, limit: refused.limit },
            });
          }
          const l = core.config.gateway.limits;
          const out = await dispatch(
            registry,
            text,
            { tenant, op, refuseOther: auth.refuseOther(caller, op, tenant) },
            {
              maxDepth: l.jsonMaxDepth,
              responseBytes: l.rpcResponseBytes,
              takeChange: () => admission.takeChange(tenantId),
              changesPerMinute: l.tenantChangesPerMinute,
              admitChange: admission.admitChange,
              charge: bytes.answered,
              log,
            },
          );
          if (out === null) {
            release();
            return new Response(null, { status: 204 });
          }
          return respond(out, release, request.signal);
        } catch (err) {
          release();
          if (err instanceof IdentityEnded) log.info("request ended: its tenant's token or incarnation changed while it ran", { requestId: info.requestId, tenant: tenantId });
          throw err;
        }
      },
      { detail: { hide: true } },
    );
}
