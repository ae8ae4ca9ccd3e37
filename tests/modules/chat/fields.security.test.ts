// What reaches a provider: an allow-list per provider kind (unknown fields refused, naming them),
// opt-in fields only where the operator enabled them, the provider-visible user id opaque and per
// tenant, and image URLs by the operator's policy (data: only by default).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { readEnvironment } from "../../../src/config/env.ts";
import { loadGatewayConfig } from "../../../src/config/load.ts";
import { loadGatewaySecret } from "../../../src/modules/chat/gateway-secret.ts";
import { chatWorld, type ChatWorld } from "../../helpers/chat.ts";
import { makeHome, operatorCtx, scope } from "../../helpers/core.ts";

let w: ChatWorld;
let betaToken: string;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      providers: { pics: { kind: "openai", baseUrl: "FAKE/v1", timeoutMs: 5_000, imageUrls: { allow: ["93.184.216.34:443", "*.example.com:443", "localhost:443", "[::1]:443", "127.0.0.1:443"] } } },
      models: {
        "open-mini": { provider: "local", upstreamModel: "fake-mini", passthrough: ["service_tier", "store", "metadata", "prediction", "modalities", "audio", "web_search_options"] },
        "pics-mini": { provider: "pics", upstreamModel: "fake-pics" },
      },
    },
  });
  betaToken = w.core.tenants.create({ id: "beta" }, operatorCtx).token;
});
afterAll(() => w.close());

const ask = [{ role: "user", content: "hi [[words:2]]" }];
const upstream = () => w.fake.requests.at(-1)!;

async function refused(body: Record<string, unknown>, param: string, says?: string, token = w.token) {
  const before = w.fake.requests.length;
  const res = await w.post(body, token);
  const json = (await res.json()) as any;
  expect({ status: res.status, param: json.error?.param }).toEqual({ status: 400, param });
  expect(json.error.message).toContain(param);
  if (says) expect(json.error.message).toContain(says);
  expect(w.fake.requests.length).toBe(before);
}

describe("unknown fields are refused, naming them, at every level", () => {
  test.each([
    ["gpt-4o-mini", { x_custom: 1 }, "x_custom"],
    ["claude-x", { x_custom: 1 }, "x_custom"],
    ["gpt-4o-mini", { messages: [{ role: "user", content: "hi", cache_control: { type: "ephemeral" } }] }, "messages[0].cache_control"],
    ["gpt-4o-mini", { messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: {} }] }] }, "messages[0].content[0].cache_control"],
    ["gpt-4o-mini", { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AA==", format: "wav" } }] }] }, "messages[0].content[0].type"],
    ["gpt-4o-mini", { messages: [{ role: "user", content: [{ type: "file", file: { file_data: "AA==" } }] }] }, "messages[0].content[0].type"],
    ["gpt-4o-mini", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AA==", fetch: "x" } }] }] }, "messages[0].content[0].image_url.fetch"],
    ["gpt-4o-mini", { messages: [{ role: "assistant", content: "x", audio: { id: "audio_1" } }, ...ask] }, "messages[0].audio"],
    ["gpt-4o-mini", { tools: [{ type: "function", function: { name: "f", x: 1 } }] }, "tools[0].function.x"],
    ["gpt-4o-mini", { tools: [{ type: "custom", custom: { name: "f" } }] }, "tools[0].custom"],
    ["gpt-4o-mini", { response_format: { type: "json_schema", json_schema: { name: "s", schema: {} }, extra: 1 } }, "response_format.extra"],
    ["gpt-4o-mini", { stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } }, "stream_options.continuous_usage_stats"],
  ] as const)("%s %j → 400 naming %s", async (model, fields, param) => {
    await refused({ model, messages: ask, ...fields }, param);
  });

  test.each([
    ["seed", 7],
    ["logprobs", true],
    ["presence_penalty", 0.5],
    ["functions", [{ name: "f" }]],
    ["safety_identifier", "u1"],
  ])("anthropic: %s has no translation and is refused rather than dropped", async (field, value) => {
    await refused({ model: "claude-x", messages: ask, [field]: value }, field, "not supported for this model");
  });

  test("anthropic: a message name or an image detail-less part that would be dropped is refused", async () => {
    await refused({ model: "claude-x", messages: [{ role: "user", name: "bob", content: "hi" }] }, "messages[0].name");
    await refused({ model: "claude-x", messages: [{ role: "assistant", content: "x", refusal: "no" }, ...ask] }, "messages[0].refusal");
  });

  test("null means not set: known fields that are null are not forwarded", async () => {
    const res = await w.post({ model: "claude-x", messages: ask, seed: null, response_format: null, tool_choice: null });
    expect(res.status).toBe(200);
    expect(Object.keys(upstream().body).sort()).toEqual(["max_tokens", "messages", "metadata", "model"]);
  });

  test("what the allow-list accepts reaches the provider as sent", async () => {
    const body = {
      model: "gpt-4o-mini",
      messages: [{ role: "system", content: "s", name: "sys" }, { role: "user", content: [{ type: "text", text: "hi [[words:2]]" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } }] }],
      temperature: 0.2,
      top_p: 0.9,
      seed: 3,
      stop: ["END"],
      logit_bias: { "50256": -100 },
      logprobs: true,
      top_logprobs: 2,
      presence_penalty: 0.1,
      frequency_penalty: 0.1,
      response_format: { type: "json_schema", json_schema: { name: "s", schema: { type: "object" }, strict: true } },
      reasoning_effort: "low",
      tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" }, strict: true } }],
      tool_choice: { type: "function", function: { name: "f" } },
      parallel_tool_calls: false,
    };
    const res = await w.post(body);
    expect(res.status).toBe(200);
    const { user, max_tokens, stream, ...rest } = upstream().body;
    expect(rest).toEqual({ ...body, model: "fake-mini" });
    expect([typeof user, max_tokens, stream]).toEqual(["string", 4096, false]);
  });
});

describe("opt-in fields: refused unless the operator enabled them for the model", () => {
  const OPT_IN: [string, unknown][] = [
    ["service_tier", "priority"],
    ["store", true],
    ["metadata", { customer: "beta" }],
    ["prediction", { type: "content", content: "x" }],
    ["modalities", ["text", "audio"]],
    ["audio", { voice: "alloy", format: "wav" }],
    ["web_search_options", {}],
  ];
  test.each(OPT_IN)("%s → 400 on a model without it", async (field, value) => {
    await refused({ model: "gpt-4o-mini", messages: ask, [field]: value }, field, "not enabled for this model");
  });
  test.each(OPT_IN)("%s → forwarded as sent where enabled", async (field, value) => {
    const res = await w.post({ model: "open-mini", messages: ask, [field]: value });
    expect(res.status).toBe(200);
    expect(upstream().body[field]).toEqual(value);
  });
  test("the config refuses passthrough on an anthropic model", () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ providers: { a: { kind: "anthropic", baseUrl: "https://x" } }, models: { m: { provider: "a", upstreamModel: "u", passthrough: ["store"] } } }));
    expect(() => loadGatewayConfig(home, readEnvironment({}))).toThrow('"models.m.passthrough"');
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ providers: { a: { kind: "openai", baseUrl: "https://x", imageUrls: { allow: ["*.com:443"] } } } }));
    expect(() => loadGatewayConfig(home, readEnvironment({}))).toThrow('"providers.a.imageUrls.allow[0]"');
  });
});

describe("who the provider thinks sent it", () => {
  test("user is an opaque per-tenant id: stable, never the tenant's choice, distinct between tenants", async () => {
    const seen: Record<string, unknown[]> = { acme: [], beta: [] };
    for (const [tenant, token] of [["acme", w.token], ["beta", betaToken]] as const) {
      for (const user of [undefined, "end-user-1", "oc-someone-else"]) {
        for (const model of ["gpt-4o-mini", "claude-x"]) {
          const res = await w.post({ model, messages: ask, ...(user ? { user } : {}) }, token);
          expect(res.status).toBe(200);
          const b = upstream().body;
          const id = model === "claude-x" ? b.metadata.user_id : b.user;
          expect(id).toMatch(/^oc-[A-Za-z0-9_-]{22}(-[A-Za-z0-9_-]{22})?$/);
          expect(JSON.stringify(b)).not.toContain(tenant);
          if (user) expect(JSON.stringify(b)).not.toContain(user);
          seen[tenant]!.push(id);
        }
      }
    }
    // The same id for each (end user, model kind) pair of a tenant; nothing shared across tenants.
    expect(seen.acme![0]).toBe(seen.acme![1]);
    expect(seen.acme![2]).toBe(seen.acme![3]);
    expect(new Set(seen.acme).size).toBe(3);
    expect(seen.acme!.some((id) => seen.beta!.includes(id))).toBe(false);
    // An end user's id is namespaced under its tenant's id.
    expect(String(seen.acme![2]).startsWith(String(seen.acme![0]))).toBe(true);
  });

  test("safety_identifier and prompt_cache_key are rewritten per tenant", async () => {
    const ids: string[] = [];
    for (const token of [w.token, betaToken]) {
      await w.post({ model: "gpt-4o-mini", messages: ask, safety_identifier: "victim", prompt_cache_key: "shared-key" }, token);
      const b = upstream().body;
      expect(b.safety_identifier).not.toBe("victim");
      expect(b.prompt_cache_key).not.toBe("shared-key");
      ids.push(b.safety_identifier, b.prompt_cache_key);
    }
    expect(new Set(ids).size).toBe(4);
  });

  test("a deleted tenant's id, created again, is a stranger to the provider (new user, end-user and cache ids)", async () => {
    const seen = async (token: string) => {
      await w.post({ model: "gpt-4o-mini", messages: ask, user: "eu", prompt_cache_key: "k" }, token);
      const b = upstream().body;
      return [b.user, b.prompt_cache_key] as string[];
    };
    const gamma = w.core.tenants.create({ id: "gamma" }, operatorCtx).token;
    const before = await seen(gamma);
    expect(await seen(gamma)).toEqual(before);
    w.core.tenants.remove(scope("gamma"), operatorCtx);
    const again = w.core.tenants.create({ id: "gamma" }, operatorCtx).token;
    const after = await seen(again);
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(after[0]!.split("-")[1]).not.toBe(before[0]!.split("-")[1]);
  });

  test("the key behind the ids is made once, 0600, and kept", () => {
    const home = makeHome();
    const a = loadGatewaySecret(home);
    const b = loadGatewaySecret(home);
    expect(a.equals(b)).toBe(true);
    expect(a.length).toBe(32);
    expect(fs.statSync(path.join(home, "gateway.key")).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(home)).toEqual(["gateway.key"]);
  });
});

describe("image URLs", () => {
  const withImage = (model: string, url: string) => ({ model, messages: [{ role: "user", content: [{ type: "text", text: "what? [[words:2]]" }, { type: "image_url", image_url: { url } }] }] });
  const PARAM = "messages[0].content[1].image_url.url";

  test.each([
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/x.png",
    "http://127.0.0.1:11434/api/tags",
    "https://internal.corp/x.png",
    "https://93.184.216.34/public.png",
    "data:text/html;base64,PGgxPg==",
    "data:image/png,notbase64",
    "gopher://127.0.0.1:6379/_FLUSHALL",
  ])("by default only data: images: %s → 400", async (url) => {
    for (const model of ["gpt-4o-mini", "claude-x"]) await refused(withImage(model, url), PARAM);
  });

  test("an inline image passes to both kinds", async () => {
    for (const model of ["gpt-4o-mini", "claude-x"]) expect((await w.post(withImage(model, "data:image/jpeg;base64,/9j/4AAQ"))).status).toBe(200);
  });

  test("with an image host allow-list: listed public hosts pass, private, local and unlisted ones never do", async () => {
    expect((await w.post(withImage("pics-mini", "https://93.184.216.34/cat.png"))).status).toBe(200);
    expect(upstream().body.messages[0].content[1].image_url.url).toBe("https://93.184.216.34/cat.png");
    // localhost resolves to 127.0.0.1 and/or ::1 depending on the machine: refused either way.
    for (const [url, says] of [
      ["https://localhost/x.png", "resolves to"],
      ["https://[::1]/x.png", "is a private"],
      ["https://127.0.0.1/x.png", "is a private"],
      ["https://2130706433/x.png", "is a private"],
      ["http://93.184.216.34/cat.png", "only https://"],
      ["https://user:pw@93.184.216.34/cat.png", "credentials"],
      ["https://93.184.216.34:8443/cat.png", "not an image host"],
      ["https://evil.test/cat.png", "not an image host"],
      ["file:///etc/passwd", "only https://"],
    ] as const) {
      await refused(withImage("pics-mini", url), PARAM, says);
    }
  });
});
