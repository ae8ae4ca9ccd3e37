// The console bundle is made by a macro while Bun transpiles console.assets.ts. Running from source,
// an edit to a UI source must show at the next start — neither the bundle cache (keyed by a hash of
// every input) nor Bun's runtime transpiler cache may serve the bundle of the sources before.
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.join(import.meta.dir, "..", "..");
const PAGE = path.join(ROOT, "src/modules/console/ui/pages/zz-bundle-probe.page.tsx");

/** A fresh process (as a gateway's start is) reports the bundle's page ids and whether `marker` is in its script. */
function startFromSource(marker: string): { pages: string[]; hasMarker: boolean } {
  const code = `import { CONSOLE_PAGE_FILES, consoleAssetRoutes } from ${JSON.stringify(path.join(ROOT, "src/modules/console/console.assets.ts"))};
const app = consoleAssetRoutes();
const html = await (await app.handle(new Request("http://localhost/ui/"))).text();
const js = html.match(/src="(\\/ui\\/assets\\/[^"]+)"/)[1];
const body = await (await app.handle(new Request("http://localhost" + js))).text();
console.log(JSON.stringify({ pages: CONSOLE_PAGE_FILES, hasMarker: body.includes(${JSON.stringify(marker)}) }));`;
  const r = Bun.spawnSync([process.execPath, "-e", code], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env } });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString().trim().split("\n").at(-1)!);
}

const probe = (text: string) => `import { definePage } from "../lib/page.ts";\nexport default definePage({ id: "zz-bundle-probe", component: () => <p>${text}</p> });\n`;

afterEach(() => fs.rmSync(PAGE, { force: true }));

describe("console bundle from source", () => {
  test("an added page, an edited page and a removed page each show at the next start", () => {
    const a = `probe-${crypto.randomUUID()}`;
    const b = `probe-${crypto.randomUUID()}`;
    fs.writeFileSync(PAGE, probe(a));
    const first = startFromSource(a);
    expect(first.pages).toContain("zz-bundle-probe");
    expect(first.hasMarker).toBe(true);

    fs.writeFileSync(PAGE, probe(b));
    const edited = startFromSource(b);
    expect(edited.hasMarker).toBe(true);
    expect(startFromSource(a).hasMarker).toBe(false);

    fs.rmSync(PAGE);
    const removed = startFromSource(b);
    expect(removed.pages).not.toContain("zz-bundle-probe");
    expect(removed.hasMarker).toBe(false);
  }, 60_000);
});
