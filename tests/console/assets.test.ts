// The console's static files: the page and the bundle built at build time, served with the console's
// CSP and the API's security headers, gzipped, cached by content hash, and within the size budget.
import { describe, expect, test } from "bun:test";
import { CONSOLE_PAGE_FILES, consoleAssetSizes } from "../../src/modules/console/console.assets.ts";
import { CONSOLE_CSP } from "../../src/edge/security-headers.ts";
import { testApp, testCore } from "../helpers/core.ts";

/** The budget for everything the console ships (xterm.js included), gzipped. */
const BUDGET_GZIP_BYTES = 350 * 1024;

const h = testApp(testCore());
const get = (path: string, headers: Record<string, string> = {}) => h.app.handle(new Request(`http://localhost${path}`, { headers }));

async function indexAssets(): Promise<string[]> {
  const html = await (await get("/ui/")).text();
  return [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

describe("console assets", () => {
  test("the page: html, the console's CSP, the API's security headers, never cached, no inline script or style", async () => {
    const res = await get("/ui/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self';");
    expect(CONSOLE_CSP).not.toContain("unsafe-inline");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    for (const [k, v] of Object.entries({ "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer" })) expect(res.headers.get(k)).toBe(v);
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
    expect(html).not.toMatch(/<style|\sstyle=/);
    expect((await get("/ui")).status).toBe(200);
  });

  test("assets: content types, immutable caching by hashed name, ETag and 304, gzip when accepted", async () => {
    const assets = await indexAssets();
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
    for (const a of assets) {
      expect(a).toMatch(/-[a-z0-9]{8}\.(js|css)$/);
      const res = await get(a);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(a.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const etag = res.headers.get("etag")!;
      expect(etag).toMatch(/^"[a-z0-9]+"$/);
      const body = await res.arrayBuffer();
      expect((await get(a, { "if-none-match": etag })).status).toBe(304);
      const gz = await get(a, { "accept-encoding": "gzip, deflate, br" });
      expect(gz.headers.get("content-encoding")).toBe("gzip");
      expect(gz.headers.get("vary")).toBe("accept-encoding");
      expect(Bun.gunzipSync(new Uint8Array(await gz.arrayBuffer())).byteLength).toBe(body.byteLength);
    }
  });

  test("an unknown asset is a 404 with the API's headers", async () => {
    const res = await get("/ui/assets/nope-12345678.js");
    expect(res.status).toBe(404);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  test("the bundle has every *.page.tsx of src/modules (the page map is generated, not listed by hand)", () => {
    const found = [...new Bun.Glob("src/modules/**/*.page.tsx").scanSync({ cwd: `${import.meta.dir}/../..` })].map((p) => p.split("/").at(-1)!.replace(".page.tsx", "")).sort();
    expect([...CONSOLE_PAGE_FILES].sort()).toEqual(found);
    for (const id of ["chat", "sessions", "files", "usage", "terminal"]) expect(CONSOLE_PAGE_FILES).toContain(id);
  });

  test(`everything shipped is within ${BUDGET_GZIP_BYTES / 1024} KiB gzipped (xterm.js included)`, () => {
    const sizes = consoleAssetSizes();
    const total = sizes.reduce((n, s) => n + s.gzipBytes, 0);
    expect(total).toBeGreaterThan(50 * 1024); // preact + xterm are in it: not an empty bundle
    expect(total).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });
});
