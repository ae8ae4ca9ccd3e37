// Isolation suite generated from the route table, the RPC registry and the modules' tenant data
// (helpers/isolation.ts): tenant A's token naming tenant B's resources is refused everywhere, B is
// unchanged, and the attempt is audited as denied. A new route or method that this suite cannot
// classify fails it, so coverage keeps up by itself.
import { describe, expect, test } from "bun:test";
import { describeIsolation } from "./helpers/isolation.ts";
import { scope } from "./helpers/core.ts";

describeIsolation("isolation (generated)");

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
    // A resource of B's that routes with an :id name (a stored response).
    const bResponse = (await (await fetch(`${w.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${b}`, "content-type": "application/json" }, body: JSON.stringify({ model: "claude-x", input: "beta secret words [[words:2]]" }) })).json()) as { id: string };
    const unknownId = `resp_${"0".repeat(32)}`;
    // A request for each POST route (a new route needs its entry here): A's own work, metered under A.
    const POSTS: Record<string, unknown> = {
      "/v1/chat/completions": { model: "gpt-4o-mini", messages: [{ role: "user", content: "alpha [[words:1]]" }] },
      "/v1/messages": { model: "claude-x", max_tokens: 10, messages: [{ role: "user", content: "alpha [[words:1]]" }] },
      "/v1/messages/count_tokens": { model: "claude-x", messages: [{ role: "user", content: "alpha" }] },
      "/v1/responses": { model: "gpt-4o-mini", input: "alpha [[words:1]]" },
      "/v1/embeddings": { model: "gpt-4o-mini", input: "alpha" },
    };
    for (const r of routes) {
      const url = `${w.gw.url}${r.path.replace("*", "claude-x")}`;
      if (r.path.includes(":id")) {
        // A naming B's resource is answered exactly as A naming one that does not exist.
        const call = (id: string) => fetch(url.replace(":id", id), { method: r.method, headers: { authorization: `Bearer ${w.token}` } });
        const theirs = await call(bResponse.id);
        const none = await call(unknownId);
        const text = await theirs.text();
        expect({ route: `${r.method} ${r.path}`, status: theirs.status }).toEqual({ route: `${r.method} ${r.path}`, status: 404 });
        expect(text.replace(bResponse.id, "ID")).toBe((await none.text()).replace(unknownId, "ID"));
        expect(text).not.toContain("beta");
        continue;
      }
      if (r.method !== "GET") expect({ route: r.path, known: r.path in POSTS }).toEqual({ route: r.path, known: true });
      const res =
        r.method === "GET"
          ? await fetch(url, { headers: { authorization: `Bearer ${w.token}` } })
          : await fetch(url, { method: "POST", headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" }, body: JSON.stringify(POSTS[r.path]) });
      const text = await res.text();
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.path}`, status: 200 });
      expect(text).not.toContain("beta");
    }
    // A still sees the admin's full list (B's narrowing is B's alone), and only its own usage.
    const models = (await (await fetch(`${w.gw.url}/v1/models`, { headers: { authorization: `Bearer ${w.token}` } })).json()) as any;
    expect(models.data.map((m: any) => m.id)).toEqual(["gpt-4o-mini", "claude-x", "dead-model", "openclaw/main"]);
    const metered = Object.keys(POSTS).filter((p) => !p.endsWith("/count_tokens")).length; // counting tokens is free
    const usage = w.core.usage.summary(scope("alpha"));
    expect(usage.today.requests).toBe(metered);
    expect(ledgerRows(w.core).map((x) => x.tenant_id).sort()).toEqual([...Array(metered).fill("alpha"), "beta", "beta"]);
    // B's stored response is still B's.
    expect((await fetch(`${w.gw.url}/v1/responses/${bResponse.id}`, { headers: { authorization: `Bearer ${b}` } })).status).toBe(200);
    // B, narrowed to claude-x, cannot use what A can — on either surface.
    expect((await w.post({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }, b)).status).toBe(404);
    const viaMessages = await fetch(`${w.gw.url}/v1/messages`, { method: "POST", headers: { "x-api-key": b, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 5, messages: [{ role: "user", content: "x" }] }) });
    expect({ status: viaMessages.status, body: await viaMessages.json() }).toMatchObject({ status: 404, body: { type: "error", error: { type: "not_found_error" } } });
    await w.close();
  });
});
