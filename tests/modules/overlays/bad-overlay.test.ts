// One tenant's overlay never stops the gateway. An overlay that stops validating — a path swapped for
// a link from the sandbox, a ceiling the operator lowered — is refused for that tenant alone: its
// overlay-dependent calls fail with the reason, the reason is logged and shown (doctor, admin API,
// status, config check), and every other tenant is served. At start and on config reload.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { createCore } from "../../../src/app/core.ts";
import { readEnvironment } from "../../../src/config/env.ts";
import { startGateway } from "../../../src/http/gateway.ts";
import { adminKey, captureLog, createTenant, makeHome, operatorCtx, scope } from "../../helpers/core.ts";

const baseConfig = {
  gateway: { port: 0 },
  providers: { local: { kind: "openai", baseUrl: "http://127.0.0.1:1/v1" } },
  models: { "gpt-4o-mini": { provider: "local", upstreamModel: "gpt-4o-mini", free: true } },
  sandbox: { limits: { memoryMb: 512 } },
};

function open(home: string) {
  const { log, lines } = captureLog();
  return { core: createCore({ home, env: readEnvironment({}), log }), lines };
}

function client(url: string) {
  return async (method: string, p: string, token: string, body?: unknown) => {
    const res = await fetch(`${url}${p}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  };
}
const rpcBody = (method: string, params: unknown = {}) => ({ jsonrpc: "2.0", id: 1, method, params });

describe("a bad tenant overlay", () => {
  test("at start: a path swapped for a link refuses that tenant's overlay only; the others are served", async () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(baseConfig), { mode: 0o600 });
    let { core } = open(home);
    const good = createTenant(core, "good");
    const bad = createTenant(core, "bad");
    core.overlays.set(scope("good"), { models: { allow: ["gpt-4o-mini"] } }, operatorCtx);
    fs.writeFileSync(path.join(core.tenants.dir(scope("bad")), "workspace", "prompt.md"), "be brief");
    core.overlays.set(scope("bad"), { agent: { systemPromptFile: "workspace/prompt.md" }, models: { allow: ["gpt-4o-mini"] } }, operatorCtx);
    // What a sandbox of "bad" can do to its own workspace: replace the file with a link out of it.
    fs.rmSync(path.join(core.tenants.dir(scope("bad")), "workspace", "prompt.md"));
    fs.symlinkSync(path.join(core.tenants.dir(scope("good")), "workspace"), path.join(core.tenants.dir(scope("bad")), "workspace", "prompt.md"));
    const key = adminKey(core);
    core.close();

    const opened = open(home);
    core = opened.core;
    const gw = startGateway(core); // the gateway starts
    try {
      const call = client(gw.url);
      expect((await call("GET", "/v1/models", good)).status).toBe(200);
      expect((await call("POST", "/rpc", good, rpcBody("sandbox.info"))).json.result).toBeDefined();
      const refused = await call("GET", "/v1/models", bad);
      expect(refused.status).toBe(400);
      expect(refused.json.error.message).toContain('"agent.systemPromptFile"');
      expect(refused.json.error.message).toContain("refused until it is fixed");
      // The tenant itself is still served where its overlay does not matter, and sees why.
      expect((await call("POST", "/rpc", bad, rpcBody("health"))).json.result.tenantId).toBe("bad");
      const info = await call("POST", "/rpc", bad, rpcBody("sandbox.info"));
      expect(info.json.error.data.code).toBe("CONFIG_INVALID");
      // Logged, and visible to the operator: the admin tenant view, status, config view, doctor.
      expect(opened.lines.some((l) => l.level === "error" && l.tenant === "bad" && String(l.msg).includes("config overlay refused (start)"))).toBe(true);
      expect(opened.lines.some((l) => l.tenant === "good" && l.level === "error")).toBe(false);
      const view = await call("GET", "/admin/v1/tenants/bad", key);
      expect(view.json.overlay).toMatchObject({ state: "invalid", reason: expect.stringContaining("symbolic link that leads outside") });
      expect((await call("GET", "/admin/v1/tenants/good", key)).json.overlay).toEqual({ state: "valid" });
      expect((await call("GET", "/admin/v1/status", key)).json.tenants.overlaysRefused).toEqual([{ tenantId: "bad", reason: expect.stringContaining("agent.systemPromptFile") }]);
      expect((await call("GET", "/admin/v1/tenants/bad/config", key)).json).toMatchObject({ config: { agent: { systemPromptFile: "workspace/prompt.md" } }, overlay: { state: "invalid" } });
      const doctor = await core.doctor.run();
      expect(doctor.find((c) => c.name === "tenant overlays")).toMatchObject({ status: "warn", detail: expect.stringContaining('bad: tenants/bad/openclaw.json: "agent.systemPromptFile"') });
      expect(doctor.find((c) => c.name === "config")!.status).toBe("ok");
      // The tenant fixes it; its calls work again.
      const fixed = await call("POST", "/rpc", bad, rpcBody("config.patch", { patch: { agent: { systemPromptFile: null } } }));
      expect(fixed.json.error).toBeUndefined();
      expect((await call("GET", "/v1/models", bad)).status).toBe(200);
      expect((await call("GET", "/admin/v1/tenants/bad", key)).json.overlay).toEqual({ state: "valid" });
    } finally {
      await gw.stop();
    }
  });

  test("on reload: a ceiling lowered below an overlay refuses that tenant only; a restart still starts", async () => {
    const home = makeHome();
    const configFile = path.join(home, "openclaw.json");
    fs.writeFileSync(configFile, JSON.stringify(baseConfig), { mode: 0o600 });
    let { core, lines } = open(home);
    const big = createTenant(core, "big");
    const small = createTenant(core, "small");
    core.overlays.set(scope("big"), { sandbox: { limits: { memoryMb: 400 } } }, operatorCtx);
    core.overlays.set(scope("small"), { sandbox: { limits: { memoryMb: 100 } } }, operatorCtx);
    const key = adminKey(core);
    let gw = startGateway(core);
    try {
      const call = client(gw.url);
      expect((await call("POST", "/rpc", big, rpcBody("sandbox.info"))).json.error).toBeUndefined();
      // The operator lowers the ceiling; the file watcher reloads the config.
      const cfg = JSON.parse(fs.readFileSync(configFile, "utf8"));
      cfg.sandbox.limits.memoryMb = 256;
      fs.writeFileSync(configFile, JSON.stringify(cfg));
      let refusedList: unknown[] = [];
      for (let i = 0; i < 40 && refusedList.length === 0; i++) {
        await Bun.sleep(100);
        refusedList = (await call("GET", "/admin/v1/status", key)).json.tenants.overlaysRefused;
      }
      expect(refusedList).toEqual([{ tenantId: "big", reason: expect.stringContaining('"sandbox.limits.memoryMb" 400 exceeds the gateway\'s ceiling of 256') }]);
      // The watcher's reload re-checks every overlay and logs the refused one.
      const reloadLine = () => lines.some((l) => l.level === "error" && l.tenant === "big" && String(l.msg).includes("config overlay refused (config reloaded: file changed)"));
      for (let i = 0; i < 40 && !reloadLine(); i++) await Bun.sleep(100);
      expect(reloadLine()).toBe(true);
      expect(lines.some((l) => l.level === "error" && l.tenant === "small")).toBe(false);
      const refused = await call("POST", "/rpc", big, rpcBody("sandbox.info"));
      expect(refused.json.error).toMatchObject({ data: { code: "CONFIG_INVALID" } });
      expect(refused.json.error.message).toContain("sandbox.limits.memoryMb");
      expect((await call("POST", "/rpc", small, rpcBody("sandbox.info"))).json.result.limits.memoryMb).toBe(100);
    } finally {
      await gw.stop();
    }
    // A restart with the overlay still over the ceiling starts, and still refuses only "big".
    ({ core, lines } = open(home));
    gw = startGateway(core);
    try {
      const call = client(gw.url);
      expect((await call("POST", "/rpc", small, rpcBody("sandbox.info"))).json.result).toBeDefined();
      expect((await call("POST", "/rpc", big, rpcBody("sandbox.info"))).json.error.data.code).toBe("CONFIG_INVALID");
      expect(lines.some((l) => l.level === "error" && l.tenant === "big")).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});
