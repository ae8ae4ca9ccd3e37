// /admin/docs renders in a real browser with every external host unreachable: Swagger UI loads from
// the gateway itself and lists the control-plane operations.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { startGateway } from "../../src/http/gateway.ts";
import { makeHome, testCore } from "../helpers/core.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));

describe("Swagger UI", () => {
  test("renders offline from assets served by the binary", async () => {
    if (!CHROMIUM) throw new Error("chromium is not installed (CI installs it: apt-get install chromium)");
    const core = testCore({ config: { gateway: { port: 0 } } });
    const gw = startGateway(core);
    try {
      const profile = path.join(makeHome(), "chromium-profile");
      const proc = Bun.spawn(
        [
          CHROMIUM,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          // Nothing but the gateway resolves: any CDN reference would fail to load.
          `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`,
          `--user-data-dir=${profile}`,
          "--virtual-time-budget=15000",
          "--dump-dom",
          `${gw.url}/admin/docs`,
        ],
        { stdout: "pipe", stderr: "pipe" },
      );
      const timer = setTimeout(() => proc.kill(), 60_000);
      const dom = await new Response(proc.stdout).text();
      clearTimeout(timer);
      await proc.exited;
      expect(dom).toContain("OpenClawMU control plane");
      expect(dom).toContain('class="swagger-ui');
      for (const op of ["/admin/v1/tenants", "/admin/v1/audit", "/admin/v1/status"]) expect(dom).toContain(op);
      expect(dom).toMatch(/opblock-summary/);
    } finally {
      await gw.stop();
    }
  }, 90_000);
});
