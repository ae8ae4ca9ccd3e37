// The chat platforms' webhook: POST (and GET, for WhatsApp's verification handshake)
// /channels/<kind>/<hookId>. No tenant token — the platform's signature is the credential, checked by
// ingest.ts over the exact bytes before anything else. The body is read here, raw and capped at
// gateway.channels.maxInboundBytes (over it: the identical refusal).
import { Elysia, t } from "elysia";
import type { GatewayConfig } from "../../config/schema.ts";
import { routeDoc } from "../../edge/route-doc.ts";
import type { DirectResponse, InboundRequest } from "./kinds/kind.ts";
import { REFUSAL, type Ingest } from "./ingest.ts";
import { readBodyCapped } from "../../lib/read-capped.ts";

const doc = routeDoc("channels", { security: [] });
// No length limits here: any malformed path id is the identical refusal (ingest.ts), not a validation error.
const Params = t.Object({ kind: t.String(), hookId: t.String() });

function respond(r: DirectResponse): Response {
  return new Response(r.body, { status: r.status, headers: { "content-type": r.contentType ?? "application/json", "cache-control": "no-store" } });
}

export function channelsRoutes({ channelsEngine }: { channelsEngine: { ingest: Ingest; now(): number; config(): GatewayConfig } }) {
  const handle = async (method: "GET" | "POST", request: Request, params: { kind: string; hookId: string }) => {
    const raw = await readBodyCapped(request.body, channelsEngine.config().gateway.channels.maxInboundBytes);
    if (raw === null) return respond(REFUSAL);
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
    const req: InboundRequest = { method, headers, query: new URL(request.url).searchParams, rawBody: raw, nowMs: channelsEngine.now() };
    return respond(await channelsEngine.ingest.handle(params.kind, params.hookId, req));
  };
  return new Elysia()
    .post("/channels/:kind/:hookId", ({ request, params }) => handle("POST", request, params), {
      params: Params,
      ...doc("channels.webhook", "A chat platform's delivery to a paired channel (signed by the platform; anything else gets one identical 401)", ["UNAUTHORIZED"]),
    })
    .get("/channels/:kind/:hookId", ({ request, params }) => handle("GET", request, params), {
      params: Params,
      ...doc("channels.verify", "A chat platform's webhook verification handshake (WhatsApp); anything else gets the identical 401", ["UNAUTHORIZED"]),
    });
}
