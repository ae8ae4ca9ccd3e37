// A plugin tool's network and time, in the real sandbox (bwrap, docker, gVisor): a tool whose
// manifest names an egress tool reaches a host the admin's ceiling and the tenant's overlay both
// allow and is refused one only the ceiling names; a tool naming none, or naming one the tenant has
// not opted into, has no network; a tool running past its timeoutSeconds is killed and reported as
// timed out within the bound.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentTool, ToolContext } from "../../../src/modules/agents/tools/tool.ts";
import { skillsToolSource } from "../../../src/modules/skills/skills.tools.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { ensureSandboxImage, MODES, sandboxWorld, toolCtx, type SandboxWorld } from "../../helpers/sandbox.ts";
import { craftTar } from "../../helpers/skill-packages.ts";

let allowed: ReturnType<typeof Bun.serve>;
let other: ReturnType<typeof Bun.serve>;
beforeAll(async () => {
  await ensureSandboxImage();
  allowed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from the allowed host") });
  other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from the other host") });
});
afterAll(() => {
  allowed.stop(true);
  other.stop(true);
});

const TIMEOUT = 2;

/** A plugin whose tools fetch both hosts (and the allowed one by its address) (busybox wget: the same in every mode), with and without an egress tool, and one that sleeps past its timeout. */
function netPlugin() {
  const fetchBoth = `for u in http://localhost:${allowed.port}/a http://localhost:${other.port}/b http://127.0.0.1:${allowed.port}/c; do busybox wget -q -O - "$u" 2>&1; echo " rc=$?"; done\n`;
  const tool = (name: string, over: Record<string, unknown>) => ({ name, description: name, inputSchema: { type: "object" }, command: ["/bin/sh", "/mnt/plugin/fetch.sh"], ...over });
  const manifest = {
    name: "net",
    description: "Network and time",
    tools: [
      tool("web", { egress: "web" }),
      tool("offline", {}),
      tool("unlisted", { egress: "other" }),
      tool("slow", { command: ["/bin/sh", "-c", "echo started; sleep 60; echo finished"], timeoutSeconds: TIMEOUT }),
    ],
  };
  return craftTar([{ name: "openclaw.plugin.json", data: JSON.stringify(manifest) }, { name: "fetch.sh", data: fetchBoth, mode: 0o755 }], { gzip: true });
}

const ctxFor = toolCtx;

describe("a plugin tool's egress and timeout, in the real sandbox", () => {
  for (const m of MODES) {
    test(`${m.label}: egress only through the named tool's allow-list (ceiling ∩ overlay); none without one; killed at timeoutSeconds`, async () => {
      // localhost is 127.0.0.1, ::1 or both, depending on the machine's /etc/hosts: allow both.
      const w = sandboxWorld(m, { sandbox: { egress: { tools: { web: ["localhost:*"], other: ["localhost:*"] }, allowPrivate: ["127.0.0.1/32", "::1/128"] } } });
      // alpha opts "web" into the allowed host only; "other" it does not opt into at all.
      w.core.overlays.set(scope("alpha"), { tools: { egress: { web: [`localhost:${allowed.port}`] } } }, operatorCtx);
      await w.core.skills.install(scope("alpha"), "plugin", { archive: await netPlugin() }, operatorCtx);
      const tools = new Map(skillsToolSource(w.core.skills).tools(scope("alpha")).map((t) => [t.name, t] as const));
      const call = (name: string) => (tools.get(`plugin__net__${name}`) as AgentTool).run({}, ctxFor(w, "alpha"));

      const web = await call("web");
      expect(web.content).toContain("hello from the allowed host rc=0");
      expect(web.content).not.toContain("hello from the other host");
      // The proxy refuses the host only the ceiling names, and the allowed port under another name.
      expect(web.content.match(/403 Forbidden\n rc=1/g)?.length).toBe(2);

      for (const name of ["offline", "unlisted"]) {
        const r = await call(name);
        expect(r.content).not.toContain("hello from");
        expect(r.content.match(/ rc=1/g)?.length).toBe(3);
        expect(r.content).not.toContain("403 Forbidden"); // no proxy at all: no network
      }
      // Each run's egress, as the gateway counted it: only the "web" run went through a proxy.
      expect(w.core.sandbox.egressCounts(scope("alpha"))).toMatchObject({ allowed: 1, refused: 2 });

      const started = performance.now();
      const slow = await call("slow");
      const seconds = (performance.now() - started) / 1000;
      expect(slow).toMatchObject({ isError: true });
      expect(slow.content).toStartWith(`exit code: 137 (killed: the ${TIMEOUT} s timeout)`);
      expect(slow.content).toContain("started");
      expect(slow.content).not.toContain("finished");
      // The bound plus the sandbox's own start (a container takes a few seconds on a shared machine).
      expect(seconds).toBeGreaterThanOrEqual(TIMEOUT - 0.1);
      expect(seconds).toBeLessThan(TIMEOUT + 20);
      w.core.close();
    }, 120_000);
  }
});
