// sessions.subscribe / sessions.unsubscribe: which of its tenant's events a WebSocket connection is
// told. They shape the connection they are called over, so over POST /rpc there is nothing for them to
// do: they answer BAD_REQUEST (-32600) "needs a WebSocket connection".
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { defineTenantMethod, type RpcConnection, type RpcContext } from "../../edge/rpc.ts";

/** The session key grammar (issue 13): chosen by the client, always within the calling tenant. */
const SessionKey = T.String({ pattern: "^[a-z0-9:_-]{1,128}$", description: "a session key of the calling tenant" });
/** Sessions one connection may single out; past it a subscribe is refused (unsubscribe and widen instead). */
export const MAX_SUBSCRIBED = 256;

const Result = T.Object({ sessionKeys: T.Array(T.String(), { description: "the connection's filter now; empty: it hears every event of its tenant" }) });

function connectionOf(ctx: RpcContext, method: string): RpcConnection {
  if (!ctx.connection) throw new AppError("BAD_REQUEST", `${method} needs a WebSocket connection (GET /rpc): it chooses which events that connection is told, and a POST /rpc request has none`);
  return ctx.connection;
}

export function wsRpc() {
  return [
    defineTenantMethod({
      name: "sessions.subscribe",
      summary: "WebSocket only: from now on, tell this connection the events of these sessions (and events that name no session) instead of every event of the tenant.",
      params: { sessionKeys: T.Array(SessionKey, { minItems: 1, maxItems: MAX_SUBSCRIBED }) },
      result: Result,
      // It changes what the connection hears (not the tenant's state: nothing is audited).
      mutates: true,
      example: { sessionKeys: ["main"] },
      handler(_tenant, { sessionKeys }, ctx) {
        const conn = connectionOf(ctx, "sessions.subscribe");
        return { sessionKeys: conn.subscribe(sessionKeys) };
      },
    }),
    defineTenantMethod({
      name: "sessions.unsubscribe",
      summary: "WebSocket only: stop singling out these sessions (all of them when sessionKeys is omitted); with none left the connection hears every event of the tenant again.",
      params: { sessionKeys: T.Optional(T.Array(SessionKey, { maxItems: MAX_SUBSCRIBED })) },
      result: Result,
      mutates: true,
      example: {},
      handler(_tenant, { sessionKeys }, ctx) {
        const conn = connectionOf(ctx, "sessions.unsubscribe");
        return { sessionKeys: conn.unsubscribe(sessionKeys) };
      },
    }),
  ];
}
