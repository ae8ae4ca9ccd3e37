// createApp(core): the one HTTP surface — health, control plane, docs, tenant RPC, the OpenAI routes,
// the tenant WebSocket on GET /rpc, upstream OpenClaw's protocol on GET / (a WebSocket), tenant WebSockets — behind one edge (edge.ts). Every module of src/app/modules.ts mounts its routes
// here: control-plane routes under /admin/v1 (admin key), tenant routes at the root and WebSocket
// routes under /ws (tenant tokens). (gateway.ts listens, and handles reloads and shutdown.)
import { Elysia } from "elysia";
import type { Core } from "../app/core.ts";
import { routeDoc } from "../edge/route-doc.ts";
import { createAuth } from "./auth.ts";
import { createConsoleAuth } from "./console-auth.ts";
import { consoleSessionRoutes } from "./console-session.routes.ts";
import { docsRoutes } from "./docs.routes.ts";
import { createEdge, type EdgeOptions } from "./edge.ts";
import { healthRoutes } from "./health.routes.ts";
import { openclawV4Routes } from "./openclaw-v4.routes.ts";
import { createRpcRegistry } from "./rpc-methods.ts";
import { rpcRoutes } from "./rpc.routes.ts";
import { statusRoutes } from "./status.routes.ts";
import { websocketOptions, wsRpcRoutes } from "./ws-rpc.routes.ts";

export type AppOptions = EdgeOptions;

export function createApp(core: Core, opts: AppOptions = {}) {
  const auth = createAuth(core);
  const registry = createRpcRegistry(core);
  const state = { draining: false };
  const cookies = createConsoleAuth(core, auth); // the web console's sessions (modules/console)
  const edge = createEdge(core, auth, opts, cookies);
  const admission = core.admission; // one admission for every tenant surface (modules/admission)

  const admin = new Elysia({ prefix: "/admin/v1" });
  const tenant = new Elysia();
  const ws = new Elysia({ prefix: "/ws" });
  for (const m of core.modules) {
    const svc = core.servicesOf(m);
    if (m.admin) admin.use(m.admin(svc));
    if (m.routes) tenant.use(m.routes(svc));
    if (m.ws) ws.use(m.ws(svc));
  }
  admin.use(statusRoutes(core));

  // normalize: false — unknown fields in a request are an error, not silently dropped.
  const app = new Elysia({ normalize: false, websocket: websocketOptions(core) })
    .onRequest(edge.onRequest)
    .onParse(edge.onParse)
    .onError(edge.onError)
    .onAfterResponse(edge.onAfterResponse)
    .get("/metrics", () => new Response(core.metrics.render({ version: core.version, tenants: core.tenants.count() }), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }), {
      ...routeDoc("status")("status.metrics", "Prometheus metrics (admin key required)"),
    })
    .use(healthRoutes(core, state))
    .use(docsRoutes())
    .use(admin)
    .use(rpcRoutes(core, auth, registry, admission))
    .use(wsRpcRoutes(core, auth, registry, admission))
    .use(openclawV4Routes(core, auth))
    .use(consoleSessionRoutes(core, auth, cookies))
    .use(tenant)
    .use(ws);

  return { app, auth, registry, state };
}
