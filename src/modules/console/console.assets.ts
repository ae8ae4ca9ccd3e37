// The console's static files: /ui/ (the page) and /ui/assets/* (the bundle). The bundle is made at
// build time by a macro (console.bundle.ts) and inlined here, so the binary serves it offline.
//
// The page runs under a strict CSP: scripts and styles only from these files, no inline script or
// style (so no style attributes either), connections only to this origin. Asset names carry a content
// hash (immutable, cached for a year); the page itself is never cached, so a new binary's assets are
// picked up at once. Every response is gzipped when the browser accepts it (precomputed once).
import { Elysia } from "elysia";
import { API_HEADERS, CONSOLE_CSP } from "../../edge/security-headers.ts";
import { consoleBundle } from "./console.bundle.ts" with { type: "macro" };

const BUNDLE = consoleBundle();

interface Served {
  type: string;
  body: Uint8Array;
  gzip: Uint8Array;
  etag: string;
}

function served(type: string, text: string): Served {
  const body = new TextEncoder().encode(text);
  return { type, body, gzip: Bun.gzipSync(body, { level: 9 }), etag: `"${Bun.hash(body).toString(36)}"` };
}

function indexHtml(): string {
  const css = BUNDLE.files.filter((f) => f.entry && f.name.endsWith(".css")).map((f) => `<link rel="stylesheet" href="/ui/assets/${f.name}">`);
  const js = BUNDLE.files.filter((f) => f.entry && f.name.endsWith(".js")).map((f) => `<script type="module" src="/ui/assets/${f.name}"></script>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>OpenClawMU console</title>
<link rel="icon" href="data:,">
${css.join("\n")}
${js.join("\n")}
</head>
<body>
<div id="app"><noscript>The OpenClawMU console needs JavaScript.</noscript></div>
</body>
</html>
`;
}

let files: Map<string, Served> | null = null;
let index: Served | null = null;
/** Encoded and gzipped on first use (not at import: CLI commands never serve the console). */
function assets(): { files: Map<string, Served>; index: Served } {
  if (!files || !index) {
    files = new Map(BUNDLE.files.map((f) => [f.name, served(f.type, f.body)]));
    index = served("text/html; charset=utf-8", indexHtml());
  }
  return { files, index };
}

/** The shipped assets' sizes (raw and gzipped), for the size budget. */
export function consoleAssetSizes(): { name: string; bytes: number; gzipBytes: number }[] {
  const { files, index } = assets();
  return [["index.html", index] as const, ...files].map(([name, s]) => ({ name, bytes: s.body.byteLength, gzipBytes: s.gzip.byteLength }));
}

function respond(request: Request, s: Served, cache: string): Response {
  const headers: Record<string, string> = {
    ...API_HEADERS,
    "content-security-policy": CONSOLE_CSP,
    "content-type": s.type,
    "cache-control": cache,
    etag: s.etag,
    vary: "accept-encoding",
  };
  if (request.headers.get("if-none-match") === s.etag) return new Response(null, { status: 304, headers });
  if (/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) {
    headers["content-encoding"] = "gzip";
    return new Response(s.gzip, { headers });
  }
  return new Response(s.body, { headers });
}

const hidden = { detail: { hide: true } };

export function consoleAssetRoutes() {
  return new Elysia()
    // (Elysia matches /ui too: the page links its assets by absolute path, so both work.)
    .get("/ui/", ({ request, set }) => {
      // The edge wrote the API headers into set.headers; this page's own are in its Response, and
      // set's would be merged over them: drop the ones this page decides.
      delete set.headers["content-security-policy"];
      delete set.headers["cache-control"];
      return respond(request, assets().index, "no-cache");
    }, hidden)
    .get("/ui/assets/:name", ({ request, params, set }) => {
      const s = assets().files.get(params.name);
      if (!s) {
        set.status = 404;
        set.headers["content-type"] = "text/plain; charset=utf-8";
        set.headers["cache-control"] = "no-store";
        return "not found";
      }
      delete set.headers["content-security-policy"];
      delete set.headers["cache-control"];
      return respond(request, s, "public, max-age=31536000, immutable");
    }, hidden);
}

/** The page ids the bundle was built with (tests check a module's page file made it in). */
export const CONSOLE_PAGE_FILES: readonly string[] = BUNDLE.pages;
