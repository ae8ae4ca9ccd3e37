// Tenant overlays: every admin-only key of the gateway schema is refused with the file and key path;
// unknown keys and paths outside the tenant are refused; config.set writes nothing on error; a bad
// overlay on disk is refused at load (see bad-overlay.test.ts for what the gateway does with it).
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { TSchema } from "@sinclair/typebox";
import { GatewayConfigSchema } from "../../../src/config/schema.ts";
import { createTenant, operatorCtx, testApp, testCore, scope } from "../../helpers/core.ts";

type S = TSchema & { properties?: Record<string, S>; patternProperties?: Record<string, S>; anyOf?: S[]; type?: string };

/** Every leaf key path of the gateway config schema (records get a sample key). */
function adminLeafPaths(schema: S, at: string[] = []): string[][] {
  const objects = schema.anyOf ? schema.anyOf.filter((s) => s.properties || s.patternProperties) : [schema];
  const out: string[][] = [];
  for (const s of objects) {
    if (s.properties) for (const [k, v] of Object.entries(s.properties)) out.push(...(v.properties || v.patternProperties ? adminLeafPaths(v, [...at, k]) : [[...at, k]]));
    if (s.patternProperties) for (const v of Object.values(s.patternProperties)) out.push(...(v.properties || v.patternProperties ? adminLeafPaths(v, [...at, "sample"]) : [[...at, "sample"]]));
  }
  return out;
}

/** Paths that are overlay keys too (the overlay's own sandbox limits and mode). */
const SHARED = new Set(["sandbox.mode", "sandbox.limits.memoryMb", "sandbox.limits.cpus", "sandbox.limits.pids", "sandbox.limits.timeoutSeconds", "sandbox.limits.tmpfsMb", "sandbox.limits.outputBytes", "sandbox.limits.diskMb", "sandbox.limits.inodes", "$schema"]);

const nest = (parts: string[], leaf: unknown): Record<string, unknown> => parts.reduceRight<unknown>((acc, k) => ({ [k]: acc }), leaf) as Record<string, unknown>;

const config = {
  providers: { local: { kind: "openai", baseUrl: "http://127.0.0.1:1/v1" } },
  models: { "gpt-4o-mini": { provider: "local", upstreamModel: "gpt-4o-mini", free: true }, "gpt-4o": { provider: "local", upstreamModel: "gpt-4o", free: true } },
  sandbox: { mode: "bwrap", allowedModes: ["bwrap"], limits: { memoryMb: 512, timeoutSeconds: 60 }, egress: { tools: { web: ["*.example.com:443", "api.github.com:443"] } } },
};

const ADMIN_PATHS = adminLeafPaths(GatewayConfigSchema as S).filter((p) => !SHARED.has(p.join(".")));

describe("tenant overlay validation", () => {
  test("the generated admin-only list covers every section", () => {
    const top = new Set(ADMIN_PATHS.map((p) => p[0]));
    for (const k of ["gateway", "controlPlane", "providers", "models", "billing", "quotas", "sandbox", "backup", "audit"]) expect(top.has(k)).toBe(true);
    expect(ADMIN_PATHS.length).toBeGreaterThan(40);
  });

  test.each(ADMIN_PATHS.map((p) => [p.join(".")]))("%s is admin-only", (dotted) => {
    const core = testCore({ config });
    createTenant(core, "acme");
    const overlay = nest(dotted.split("."), "x");
    let message = "";
    try {
      core.overlays.set(scope("acme"), overlay, operatorCtx);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`tenants/acme/openclaw.json: "${dotted}" is admin-only`);
    expect(fs.existsSync(core.overlays.path(scope("acme")))).toBe(false);
    core.close();
  });

  test("the contract's example message", () => {
    const core = testCore({ config });
    createTenant(core, "acme");
    expect(() => core.overlays.set(scope("acme"), { providers: { openai: { apiKey: "sk-x" } } }, operatorCtx)).toThrow('tenants/acme/openclaw.json: "providers.openai.apiKey" is admin-only');
    core.close();
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ["unknown top-level key", { colour: "blue" }, '"colour" is not a known key'],
    ["unknown nested key", { agent: { temperature: 2 } }, '"agent.temperature" is not a known key'],
    ["wrong type", { agent: { maxTokens: "lots" } }, '"agent.maxTokens"'],
    ["model outside the admin's list", { models: { allow: ["gpt-4o-mini", "gpt-5"] } }, '"models.allow[1]" names model "gpt-5", which the gateway does not offer'],
    ["default outside the allowed list", { models: { allow: ["gpt-4o"], default: "gpt-4o-mini" } }, '"models.default"'],
    ["sandbox mode the admin does not allow", { sandbox: { mode: "docker" } }, '"sandbox.mode" "docker" is not allowed by the gateway'],
    ["limit above the ceiling", { sandbox: { limits: { memoryMb: 4096 } } }, '"sandbox.limits.memoryMb" 4096 exceeds the gateway\'s ceiling of 512'],
    ["egress outside the ceiling", { tools: { egress: { web: ["evil.com:443"] } } }, '"tools.egress.web[0]" "evil.com:443" is outside the gateway\'s egress ceiling for "web"'],
    ["egress on another port", { tools: { egress: { web: ["api.github.com:22"] } } }, '"tools.egress.web[0]"'],
    ["egress suffix trick", { tools: { egress: { web: ["evil-example.com:443"] } } }, '"tools.egress.web[0]"'],
    ["egress for a tool without a ceiling", { tools: { egress: { shell: ["api.github.com:443"] } } }, '"tools.egress.shell[0]"'],
    ["absolute path", { agent: { systemPromptFile: "/etc/passwd" } }, '"agent.systemPromptFile" "/etc/passwd" is absolute'],
    ["dot-dot path", { plugins: { paths: ["plugins/../../beta/workspace"] } }, '"plugins.paths[0]" "plugins/../../beta/workspace" contains ".."'],
    ["mount source outside", { sandbox: { mounts: [{ source: "../beta", target: "/mnt/b" }] } }, '"sandbox.mounts[0].source"'],
    ["mount target escaping /mnt", { sandbox: { mounts: [{ source: "workspace", target: "/mnt/../etc" }] } }, '"sandbox.mounts[0].target"'],
    ["not an object", [] as unknown as Record<string, unknown>, "must be a JSON object"],
  ];
  test.each(cases)("refuses %s", (_name, overlay, message) => {
    const core = testCore({ config });
    createTenant(core, "acme");
    const seqBefore = core.audit.head().seq;
    expect(() => core.overlays.set(scope("acme"), overlay, operatorCtx)).toThrow(message);
    expect(fs.existsSync(core.overlays.path(scope("acme")))).toBe(false);
    expect(core.audit.head().seq).toBe(seqBefore);
    core.close();
  });

  test("a symlink in the tenant directory leading out is refused as a path", () => {
    const core = testCore({ config });
    createTenant(core, "acme");
    createTenant(core, "beta");
    fs.symlinkSync(core.tenants.dir(scope("beta")), path.join(core.tenants.dir(scope("acme")), "workspace", "b"));
    expect(() => core.overlays.set(scope("acme"), { plugins: { paths: ["workspace/b/plugins"] } }, operatorCtx)).toThrow("leads outside the tenant root");
    core.close();
  });

  test("a valid overlay is written atomically, 0600, audited, and read back", () => {
    const core = testCore({ config });
    createTenant(core, "acme");
    const overlay = {
      models: { allow: ["gpt-4o-mini"], default: "gpt-4o-mini" },
      agent: { maxTokens: 1024, systemPrompt: "Be brief.", systemPromptFile: "workspace/prompt.md" },
      tools: { allow: ["web"], egress: { web: ["docs.example.com:443", "api.github.com:443"] } },
      sandbox: { mode: "bwrap" as const, limits: { memoryMb: 256 }, mounts: [{ source: "memory", target: "/mnt/memory", readOnly: true }] },
      plugins: { paths: ["plugins/hello"] },
    };
    core.overlays.set(scope("acme"), overlay, operatorCtx);
    expect(core.overlays.load(scope("acme"))).toEqual(overlay);
    expect(fs.statSync(core.overlays.path(scope("acme"))).mode & 0o777).toBe(0o600);
    expect(core.audit.query({ action: "tenant.config.set" })).toHaveLength(1);
    const patched = core.overlays.patch(scope("acme"), { agent: { systemPrompt: null, maxTokens: 2048 }, plugins: null }, operatorCtx);
    expect(patched.agent).toEqual({ maxTokens: 2048, systemPromptFile: "workspace/prompt.md" });
    expect(patched.plugins).toBeUndefined();
    core.close();
  });

  test("an overlay edited on disk into an admin key fails at load, naming the file", () => {
    const core = testCore({ config });
    createTenant(core, "acme");
    fs.writeFileSync(core.overlays.path(scope("acme")), '{ "billing": { "rateCard": {} } }');
    expect(() => core.overlays.load(scope("acme"))).toThrow('tenants/acme/openclaw.json: "billing.rateCard" is admin-only');
    core.close();
  });

  test("RPC config.set refuses to write a bad overlay; one on disk is refused at load", async () => {
    const core = testCore({ config: { ...config, gateway: { port: 0 } } });
    const token = createTenant(core, "acme");
    const { rpc } = testApp(core);
    const r = await rpc(token, "config.set", { config: { controlPlane: { apiKeyHash: "0".repeat(64) } } });
    expect(r.error).toMatchObject({ code: -32010, data: { code: "CONFIG_INVALID" } });
    expect(r.error.message).toContain('"controlPlane.apiKeyHash" is admin-only');
    expect(fs.existsSync(core.overlays.path(scope("acme")))).toBe(false);

    fs.writeFileSync(core.overlays.path(scope("acme")), '{ "audit": { "path": "/tmp/x" } }');
    expect(() => core.overlays.load(scope("acme"))).toThrow('tenants/acme/openclaw.json: "audit.path" is admin-only');
    expect(core.overlays.checkAll(["acme"])).toEqual([{ tenantId: "acme", message: expect.stringContaining('"audit.path" is admin-only') }]);
    core.close();
  });
});
