// The web console (/ui/): its sign-in exchanges a tenant token or the admin key for an HttpOnly,
// SameSite=Strict cookie session (console.sessions.ts), which the edge accepts on POST/GET /rpc and
// /admin/v1 with a CSRF token and an Origin check (http/console-auth.ts; the session endpoints are
// http/console-session.routes.ts, next to the authentication they share a throttle with). Sessions are
// tenant rows that are deleted with the tenant and never carried by a backup: a restore must never
// bring a sign-in back. Each module adds its own pages through its `console` part; these are the core ones.
import { defineModule, type PageMeta } from "../module.ts";
import { consoleAssetRoutes } from "./console.assets.ts";
import { createConsoleSessions } from "./console.sessions.ts";

export const CORE_PAGES: readonly PageMeta[] = [
  { id: "chat", title: "Chat", face: "tenant", order: 10 },
  { id: "sessions", title: "Sessions", face: "tenant", order: 20 },
  { id: "files", title: "Files", face: "tenant", order: 30 },
  { id: "usage", title: "Usage", face: "tenant", order: 40 },
  { id: "terminal", title: "Terminal", face: "tenant", order: 50 },
  { id: "tenants", title: "Tenants", face: "operator", order: 10 },
  { id: "usage-all", title: "Usage", face: "operator", order: 20 },
  { id: "audit", title: "Audit log", face: "operator", order: 30 },
  { id: "system", title: "System", face: "operator", order: 40 },
];

/** Sessions past their lifetime or idle limit are deleted this often (they are refused at once anyway). */
const PRUNE_MS = 600_000;

export const consoleModule = defineModule({
  name: "console",
  create(platform) {
    return {
      consoleSessions: createConsoleSessions({ sqlite: platform.handle.sqlite, clock: platform.clock, limits: () => platform.config().gateway.console }),
    };
  },
}).with({
  console: { pages: CORE_PAGES },
  // The page and its bundle (/ui/, /ui/assets/*), built at build time (console.assets.ts).
  routes: () => consoleAssetRoutes(),
  tenantData: {
    // Not backed up (a restore must never resurrect a sign-in); deleted with the tenant, and by a
    // restore's replacement of it. Admin sessions (tenant_id NULL) belong to no tenant.
    tables: [{ table: "console_sessions", tenantColumn: "tenant_id", backup: false }],
    onDelete: ({ consoleSessions }, tenant) => consoleSessions.revokeTenant(tenant.tenantId),
    // Every use re-checks the token and incarnation too; this drops the rows as soon as it is known.
    onStop: ({ consoleSessions }, stop) => {
      consoleSessions.revokeTenant(stop.tenantId, stop.reason === "token-revoked" ? (stop.tokens ?? []) : undefined);
      return null;
    },
  },
  start({ consoleSessions }) {
    consoleSessions.prune();
    const t = setInterval(() => consoleSessions.prune(), PRUNE_MS);
    t.unref();
    return { stop: async () => clearInterval(t) };
  },
});
