// OpenAPI document at /admin/openapi.json (generated from the routes by @elysiajs/swagger) and the
// Swagger UI at /admin/docs, with every asset compiled into the binary so it renders offline.
import { Elysia } from "elysia";
import { swagger } from "@elysiajs/swagger";
import bundleJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import uiCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import initJs from "./assets/docs-init.js" with { type: "file" };
import { VERSION } from "../lib/version.ts";
import { finishOpenApi } from "./openapi.ts";

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>OpenClawMU control plane API</title>
  <link rel="stylesheet" href="/admin/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/admin/docs/swagger-ui-bundle.js"></script>
  <script src="/admin/docs/init.js"></script>
</body>
</html>
`;

const asset = (file: string, type: string) => () =>
  new Response(Bun.file(file), { headers: { "content-type": type, "cache-control": "public, max-age=3600" } });

export function docsRoutes() {
  const plugin = swagger({
    provider: "swagger-ui",
    path: "/admin/docs",
    specPath: "/admin/openapi.json",
    exclude: [/^\/rpc/, /^\/v1\//, /^\/admin\/docs/],
    documentation: {
      info: {
        title: "OpenClawMU control plane",
        version: VERSION,
        description:
          "Operator API of the OpenClawMU gateway. Authenticate with `Authorization: Bearer <admin key>` (from `openclaw admin-key rotate` or OPENCLAW_ADMIN_KEY). Errors are `{\"error\":{\"code\",\"message\",\"requestId\"}}`.",
      },
      tags: [
        { name: "tenants", description: "Tenants, tokens and quotas" },
        { name: "backups", description: "Tenant backups to S3 or files, and restores" },
        { name: "usage", description: "Usage and cost from the ledger" },
        { name: "audit", description: "The tamper-evident audit log" },
        { name: "status", description: "Gateway status" },
        { name: "health", description: "Unauthenticated liveness and readiness" },
      ],
      components: { securitySchemes: { adminKey: { type: "http", scheme: "bearer", description: "ocmu_admin_… key" } } },
    },
  });
  // The plugin's document, finished (openapi.ts); its own route is replaced by the one below.
  const generated = plugin.routes.find((r) => r.path === "/admin/openapi.json")?.handler as (() => Record<string, unknown>) | undefined;
  if (!generated) throw new Error("@elysiajs/swagger no longer serves its document as a route");
  return (
    new Elysia()
      .use(plugin)
      .get("/admin/openapi.json", () => finishOpenApi(structuredClone(generated())), { detail: { hide: true } })
      // Registered after the plugin so it replaces the plugin's page, which loads Swagger UI from a CDN.
      .get("/admin/docs", () => new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }), { detail: { hide: true } })
      .get("/admin/docs/swagger-ui.css", asset(uiCss, "text/css; charset=utf-8"), { detail: { hide: true } })
      .get("/admin/docs/swagger-ui-bundle.js", asset(bundleJs, "text/javascript; charset=utf-8"), { detail: { hide: true } })
      .get("/admin/docs/init.js", asset(initJs, "text/javascript; charset=utf-8"), { detail: { hide: true } })
  );
}
