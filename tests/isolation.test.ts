// Isolation suite generated from the route table and the RPC registry: tenant A's token naming
// tenant B's resources is refused everywhere, B is unchanged, and the attempt is audited as denied.
// A new route or method that this suite cannot classify fails it, so coverage keeps up by itself.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import { adminKey, createTenant, operatorCtx, testApp, testCore, scope } from "./helpers/core.ts";

function world() {
  const core = testCore({
    config: {
      gateway: { authThrottle: { perIpMaxFailures: 10_000, perIpTenantMaxFailures: 10_000 } },
      providers: { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
      models: { m: { provider: "p", upstreamModel: "m" } },
    },
  });
  adminKey(core);
  const a = createTenant(core, "alpha");
  const b = createTenant(core, "beta");
  core.overlays.set(scope("beta"), { agent: { systemPrompt: "beta's secret prompt" } }, operatorCtx);
  core.tenants.setQuota(scope("beta"), { tokensPerDay: 4242 }, operatorCtx);
  // Same file name in both workspaces: a method that read B's would show B's words.
  core.files.write(scope("alpha"), "notes.txt", Buffer.from("alpha's own notes"));
  core.files.write(scope("beta"), "notes.txt", Buffer.from("beta's secret notes"));
  const h = testApp(core);
  const snapshot = () => ({
    tenant: core.tenants.get(scope("beta")),
    tokenWorks: core.tokens.verify(b).ok,
    overlay: fs.readFileSync(core.overlays.path(scope("beta")), "utf8"),
    files: fs.readdirSync(core.tenants.dir(scope("beta"))).sort(),
    workspace: fs.readdirSync(`${core.tenants.dir(scope("beta"))}/workspace`).sort(),
    notes: fs.readFileSync(`${core.tenants.dir(scope("beta"))}/workspace/notes.txt`, "utf8"),
  });
  return { core, a, b, ...h, snapshot };
}

const SURFACES = (path: string): "admin" | "rpc" | "openai" | "public" | "unclassified" => {
  if (path.startsWith("/admin/v1/") || path === "/metrics") return "admin";
  if (path === "/rpc") return "rpc";
  if (path.startsWith("/v1/")) return "openai";
  if (["/healthz", "/readyz", "/rpc/openrpc.json", "/admin/openapi.json"].includes(path) || path.startsWith("/admin/docs")) return "public";
  return "unclassified";
};

describe("isolation (generated)", () => {
  test("every route is classified", () => {
    const { core, app } = world();
    const unclassified = app.routes.filter((r) => SURFACES(r.path) === "unclassified").map((r) => `${r.method} ${r.path}`);
    expect(unclassified).toEqual([]);
    core.close();
  });

  test("every RPC method that takes a tenantId declares itself tenant-scoped", () => {
    const { core, registry } = world();
    for (const m of registry.list()) {
      const props = (m.params as { properties?: Record<string, unknown> }).properties ?? {};
      expect({ method: m.name, scoped: "tenantId" in props }).toEqual({ method: m.name, scoped: m.tenantScoped });
    }
    core.close();
  });

  test("RPC: naming another tenant is NOT_FOUND (same as a tenant that does not exist), B unchanged, denial audited", async () => {
    const { core, a, b, rpc, registry, snapshot } = world();
    const scoped = registry.list().filter((m) => m.tenantScoped);
    expect(scoped.length).toBeGreaterThanOrEqual(6);
    for (const m of scoped) {
      const before = snapshot();
      const seq = core.audit.head().seq;
      const onB = await rpc(a, m.name, { ...(m.example as object), tenantId: "beta" });
      const onGhost = await rpc(a, m.name, { ...(m.example as object), tenantId: "ghost" });
      expect({ method: m.name, code: onB.error?.data?.code }).toEqual({ method: m.name, code: "NOT_FOUND" });
      expect(onB.error.message.replace("beta", "X")).toBe(onGhost.error.message.replace("ghost", "X"));
      expect(onB.error.code).toBe(onGhost.error.code);
      expect(onB.text).not.toContain("secret prompt");
      expect(snapshot()).toEqual(before);
      const denied = core.audit.query({ outcome: "denied" }).filter((r) => r.seq > seq);
      expect(denied.map((r) => ({ action: r.action, target: r.target?.id, by: r.tenant }))).toEqual([
        { action: m.name, target: "ghost", by: "alpha" },
        { action: m.name, target: "beta", by: "alpha" },
      ]);
    }
    expect(core.tokens.verify(b).ok).toBe(true);
    core.close();
  });

  test("RPC: no method returns another tenant's data to A", async () => {
    const { core, a, b, rpc, registry } = world();
    for (const m of registry.list()) {
      if (m.mutates) continue;
      const r = await rpc(a, m.name, m.example);
      expect({ method: m.name, error: r.error ?? null }).toEqual({ method: m.name, error: null });
      expect(r.text).not.toContain("beta");
      expect(r.text).not.toContain("secret");
      expect(r.text).not.toContain(b.slice(0, 14));
    }
    core.close();
  });

  test("control plane: every /admin/v1 route refuses tenant tokens (A's or B's), changes nothing, audits the attempt", async () => {
    const { core, a, b, app, call, snapshot } = world();
    const routes = app.routes.filter((r) => SURFACES(r.path) === "admin");
    expect(routes.length).toBeGreaterThanOrEqual(13);
    for (const r of routes) {
      const path = r.path.replace(":id", "beta");
      for (const token of [a, b]) {
        const before = snapshot();
        const seq = core.audit.head().seq;
        const res = await call(r.method, path, { token, body: r.method === "GET" || r.method === "DELETE" ? undefined : { id: "evil", displayName: "x", grace: "0", tokensPerDay: 1 } });
        expect({ route: `${r.method} ${path}`, status: res.status }).toEqual({ route: `${r.method} ${path}`, status: 401 });
        expect(snapshot()).toEqual(before);
        const denied = core.audit.query({ action: "admin.access" }).filter((x) => x.seq > seq);
        expect(denied).toHaveLength(1);
        expect(denied[0]!.target?.id).toBe(`${r.method} ${path}`);
      }
    }
    expect(core.tenants.exists("evil")).toBe(false);
    core.close();
  });
});

describe("isolation on the OpenAI routes", () => {
  test("every /v1 route answers A with A's own models and usage, never B's", async () => {
    const { chatWorld, ledgerRows } = await import("./helpers/chat.ts");
    const w = await chatWorld({ tenant: "alpha" });
    const ctx = { actor: { kind: "operator" as const, id: "t" }, requestId: "r" };
    const b = w.core.tenants.create({ id: "beta" }, ctx).token;
    w.core.overlays.set(scope("beta"), { models: { allow: ["claude-x"] } }, ctx);
    await w.post({ model: "claude-x", messages: [{ role: "user", content: "beta secret words [[words:3]]" }] }, b);
    const routes = (await import("../src/http/server.ts")).createApp(w.core).app.routes.filter((r) => r.path.startsWith("/v1/"));
    expect(routes.length).toBeGreaterThanOrEqual(3);
    for (const r of routes) {
      const url = `${w.gw.url}${r.path.replace("*", "claude-x")}`;
      const res = r.method === "GET" ? await fetch(url, { headers: { authorization: `Bearer ${w.token}` } }) : await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "alpha [[words:1]]" }] });
      const text = await res.text();
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.path}`, status: 200 });
      expect(text).not.toContain("beta");
    }
    // A still sees the admin's full list (B's narrowing is B's alone), and only its own usage.
    const models = (await (await fetch(`${w.gw.url}/v1/models`, { headers: { authorization: `Bearer ${w.token}` } })).json()) as any;
    expect(models.data.map((m: any) => m.id)).toEqual(["gpt-4o-mini", "claude-x", "dead-model"]);
    const usage = w.core.usage.summary(scope("alpha"));
    expect(usage.today.requests).toBe(1);
    expect(ledgerRows(w.core).map((x) => x.tenant_id).sort()).toEqual(["alpha", "beta"]);
    // B, narrowed to claude-x, cannot use what A can.
    expect((await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }, b)).status).toBe(404);
    await w.close();
  });
});
