// The README quickstart, run exactly as written on a fresh home, timed: download the release binary
// (served here from dist/release), verify it, install it, configure a provider (the stand-in provider,
// the one substitution), start the gateway, create a tenant, route a chat completion. Target: < 60 s.
import { afterAll, beforeAll, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startFakeProvider, type FakeProvider } from "../fake-provider/fake-provider.ts";

const ROOT = path.join(import.meta.dir, "..", "..");
const RELEASE = path.join(ROOT, "dist", "release");

function quickstartScript(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quickstart"), readme.indexOf("<!-- quickstart:end -->"));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBeGreaterThan(0);
  return blocks.join("\n");
}

let files: ReturnType<typeof Bun.serve>;
let provider: FakeProvider;
beforeAll(async () => {
  if (!fs.existsSync(path.join(RELEASE, "SHA256SUMS"))) {
    const r = Bun.spawnSync(["bun", "scripts/release.ts", "--only", "x64"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  }
  files = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(Bun.file(path.join(RELEASE, path.basename(new URL(req.url).pathname)))) });
  provider = startFakeProvider();
}, 120_000);
afterAll(() => {
  files.stop(true);
  provider.stop();
});

test("the README quickstart, from a downloaded binary to a routed request, in under 60 s", async () => {
  // The quickstart uses the default port; another gateway there would answer in its place.
  const busy = await fetch("http://127.0.0.1:18789/readyz").then(() => true, () => false);
  expect({ port18789InUse: busy }).toEqual({ port18789InUse: false });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "quickstart-home-"));
  // The only substitutions: the provider's URL (a local stand-in) and a value for the API key.
  const script = quickstartScript().replace("https://api.openai.com/v1", `${provider.url}/v1`).replace("OPENAI_API_KEY=sk-...", "OPENAI_API_KEY=sk-quickstart");
  const file = path.join(home, "quickstart.sh");
  fs.writeFileSync(file, `set -euo pipefail\n${script}\necho\necho "QUICKSTART-DONE"\n`);
  const started = performance.now();
  const p = Bun.spawn(["bash", file], {
    cwd: home,
    env: { HOME: home, PATH: "/usr/local/bin:/usr/bin:/bin", BASE: `http://127.0.0.1:${files.port}` },
    stdout: "pipe",
    stderr: "pipe",
  });
  const outText = new Response(p.stdout).text();
  const errText = new Response(p.stderr).text();
  const code = await p.exited;
  const seconds = (performance.now() - started) / 1000;
  // The gateway the script started in the background (it holds the output pipes): stop it.
  const pid = fs.existsSync(path.join(home, ".openclaw", "gateway.pid")) ? Number(fs.readFileSync(path.join(home, ".openclaw", "gateway.pid"), "utf8").trim().split(/\s/)[0]) : 0;
  if (pid > 0) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const [out, err] = [await outText, await errText];
  expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
  expect(out).toContain("openclaw-linux-x64: OK");
  const reply = JSON.parse(out.slice(out.indexOf('{"id"'), out.lastIndexOf("}") + 1));
  expect(reply).toMatchObject({ object: "chat.completion", model: "gpt-4o-mini" });
  expect(reply.usage.total_tokens).toBeGreaterThan(0);
  expect(out).toContain("QUICKSTART-DONE");
  console.log(`README quickstart: ${seconds.toFixed(2)} s from download to a routed chat completion`);
  fs.writeFileSync(path.join(ROOT, "dist", "quickstart-seconds.txt"), `${seconds.toFixed(2)}\n`);
  expect(seconds).toBeLessThan(60);
}, 120_000);
