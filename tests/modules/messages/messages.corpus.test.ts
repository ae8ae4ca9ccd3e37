// Claude Code–shaped requests (system blocks with cache_control, many tools, thinking, metadata, the
// anthropic-beta header, multi-turn tool use with thinking blocks and error results, the quota probe,
// title generation, count_tokens) through /v1/messages to both provider kinds; what reaches the native
// provider; and the refusals (400 naming the field, nothing sent, nothing charged).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld();
});
afterAll(() => w.close());

const BETA = "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14,context-1m-2025-08-07";
const post = (body: unknown, extra: Record<string, string> = {}, path = "/v1/messages") =>
  fetch(`${w.gw.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": w.token, "anthropic-version": "2023-06-01", "anthropic-beta": BETA, "user-agent": "claude-cli/2.0.0 (external, cli)", ...extra },
    body: JSON.stringify(body),
  });

const cc = { type: "ephemeral" };
const SYSTEM = [
  { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: cc },
  { type: "text", text: "You are an interactive CLI tool that helps users with software engineering tasks.\n\n# Tone and style\nBe concise.", cache_control: cc },
];
const schema = (props: Record<string, unknown>, required: string[]) => ({ type: "object", properties: props, required, additionalProperties: false, $schema: "http://json-schema.org/draft-07/schema#" });
const TOOLS = [
  { name: "Bash", description: "Executes a given bash command", input_schema: schema({ command: { type: "string" }, timeout: { type: "number" }, description: { type: "string" } }, ["command"]) },
  { name: "Read", description: "Reads a file", input_schema: schema({ file_path: { type: "string" }, offset: { type: "number" }, limit: { type: "number" } }, ["file_path"]) },
  { name: "Edit", description: "Performs exact string replacements in files", input_schema: schema({ file_path: { type: "string" }, old_string: { type: "string" }, new_string: { type: "string" } }, ["file_path", "old_string", "new_string"]) },
  { name: "TodoWrite", description: "Update the todo list", input_schema: schema({ todos: { type: "array", items: { type: "object" } } }, ["todos"]), cache_control: cc },
];
const META = { user_id: "user_2f1e_account_9a8b_session_77c1" };
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

const CORPUS: Record<string, Record<string, unknown>> = {
  "quota probe": { model: "MODEL", max_tokens: 1, messages: [{ role: "user", content: "quota" }], metadata: META },
  "title generation": { model: "MODEL", max_tokens: 512, system: [{ type: "text", text: "Summarize this coding conversation in under 50 characters." }], messages: [{ role: "user", content: "fix the failing test [[words:4]]" }], temperature: 0, metadata: META },
  "first turn, streamed, with thinking": {
    model: "MODEL",
    max_tokens: 32000,
    stream: true,
    system: SYSTEM,
    tools: TOOLS,
    metadata: META,
    temperature: 1,
    thinking: { type: "enabled", budget_tokens: 31999 },
    messages: [{ role: "user", content: [{ type: "text", text: "<system-reminder>This is a reminder.</system-reminder>" }, { type: "text", text: "why does the build fail? [[words:6]]", cache_control: cc }] }],
  },
  "tool loop with thinking blocks, an error result and an image": {
    model: "MODEL",
    max_tokens: 32000,
    stream: true,
    system: SYSTEM,
    tools: TOOLS,
    metadata: META,
    thinking: { type: "enabled", budget_tokens: 8000 },
    messages: [
      { role: "user", content: [{ type: "text", text: "run the tests" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "I should run the test suite.", signature: "EqQBCkYIBxgCKkBsig" },
          { type: "text", text: "Running the tests." },
          { type: "tool_use", id: "toolu_01A", name: "Bash", input: { command: "bun test", description: "Run tests" } },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01A", is_error: true, content: [{ type: "text", text: "1 fail" }] }] },
      { role: "assistant", content: [{ type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" }, { type: "tool_use", id: "toolu_01B", name: "Read", input: { file_path: "/repo/a.test.ts" } }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01B", content: "expect(1).toBe(2)", cache_control: cc },
          { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
          { type: "text", text: "here is a screenshot [[words:3]]", cache_control: cc },
        ],
      },
    ],
  },
  "tool choice any, non-streamed": { model: "MODEL", max_tokens: 1024, tools: TOOLS, tool_choice: { type: "any", disable_parallel_tool_use: true }, messages: [{ role: "user", content: "list files [[tools]]" }], stop_sequences: ["\n\nHuman:"], top_p: 0.9 },
};

const fill = (body: Record<string, unknown>, model: string) => JSON.parse(JSON.stringify(body).replaceAll('"MODEL"', JSON.stringify(model)));

async function run(body: Record<string, unknown>): Promise<{ status: number; names: string[]; json: any }> {
  const res = await post(body);
  if (!body.stream || res.status !== 200) return { status: res.status, names: [], json: await res.json() };
  const text = await res.text();
  return { status: res.status, names: [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]!), json: null };
}

for (const model of ["claude-x", "gpt-4o-mini"]) {
  describe(`Claude Code corpus → ${model}`, () => {
    test.each(Object.keys(CORPUS))("%s", async (name) => {
      const body = fill(CORPUS[name]!, model);
      const before = ledgerRows(w.core).length;
      const { status, names, json } = await run(body);
      expect({ name, status, error: json?.error }).toEqual({ name, status: 200, error: undefined });
      if (body.stream) {
        expect(names[0]).toBe("message_start");
        expect(names.slice(-2)).toEqual(["message_delta", "message_stop"]);
        expect(names).toContain("content_block_start");
      } else expect(json.type).toBe("message");
      const rows = ledgerRows(w.core);
      expect(rows.length).toBe(before + 1);
      expect(rows.at(-1).status).toBe("ok");
    });
  });
}

describe("what reaches an anthropic-kind provider", () => {
  test("the client's body as sent, with our model, output cap, opaque user id and only the metered betas", async () => {
    const body = fill(CORPUS["tool loop with thinking blocks, an error result and an image"]!, "claude-x");
    expect((await run(body)).status).toBe(200);
    const up = w.fake.requests.at(-1)!;
    const cap = up.body.max_tokens as number;
    expect(cap).toBeLessThanOrEqual(32000);
    const { model, max_tokens, metadata, thinking, ...rest } = up.body;
    const { model: _m, max_tokens: _x, metadata: _md, thinking: _t, ...sent } = body;
    expect(rest).toEqual(sent);
    expect(model).toBe("claude-upstream");
    expect(metadata.user_id).toMatch(/^oc-[A-Za-z0-9_-]+-[A-Za-z0-9_-]+$/);
    expect(metadata.user_id).not.toContain("user_2f1e");
    expect(thinking).toEqual({ type: "enabled", budget_tokens: Math.min(8000, cap - 1) });
    expect(up.headers["anthropic-beta"]).toBe("claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14");
    expect(up.headers["x-api-key"]).toBe("ak-upstream");
    expect(up.headers["anthropic-version"]).toBe("2023-06-01");
  });

  test("count_tokens with tools and system blocks: the provider's own count, nothing charged", async () => {
    const before = ledgerRows(w.core).length;
    const res = await post({ model: "claude-x", system: SYSTEM, tools: TOOLS, messages: [{ role: "user", content: "count these four words" }] }, {}, "/v1/messages/count_tokens");
    expect(res.status).toBe(200);
    const out = (await res.json()) as any;
    expect(Object.keys(out)).toEqual(["input_tokens"]);
    expect(out.input_tokens).toBe(4); // the fake provider counts the messages' words
    const up = w.fake.requests.at(-1)!;
    expect(up.path).toBe("/v1/messages/count_tokens");
    expect(up.body).toEqual({ model: "claude-upstream", system: SYSTEM, tools: TOOLS, messages: [{ role: "user", content: "count these four words" }] });
    expect(ledgerRows(w.core).length).toBe(before);
  });
});

describe("refusals: 400 naming the field, nothing sent, nothing charged", () => {
  const ask = [{ role: "user", content: "hi" }];
  const cases: [string, Record<string, unknown>, string][] = [
    ["claude-x", { service_tier: "priority" }, "service_tier"],
    ["claude-x", { container: "c1" }, "container"],
    ["claude-x", { mcp_servers: [] }, "mcp_servers"],
    ["claude-x", { x_custom: 1 }, "x_custom"],
    ["claude-x", { max_tokens: undefined }, "max_tokens"],
    ["claude-x", { tools: [{ type: "web_search_20250305", name: "web_search" }] }, "tools.0.type"],
    ["claude-x", { system: [{ type: "text", text: "s", cache_control: { type: "ephemeral", ttl: "1h" } }] }, "system.0.cache_control.ttl"],
    ["claude-x", { messages: [{ role: "user", content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "AA==" } }] }] }, "messages.0.content.0.type"],
    ["claude-x", { messages: [{ role: "user", content: [{ type: "text", text: "x", extra: 1 }] }] }, "messages.0.content.0.extra"],
    ["claude-x", { messages: [{ role: "system", content: "x" }] }, "messages.0.role"],
    ["claude-x", { thinking: { type: "enabled", budget_tokens: 2000 }, max_tokens: 1500 }, "thinking.budget_tokens"],
    ["claude-x", { messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "http://169.254.169.254/latest" } }] }] }, "messages.0.content.0.source.url"],
    ["claude-x", { messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/svg+xml", data: "AA==" } }] }] }, "messages.0.content.0.source.media_type"],
    ["claude-x", { metadata: { user_id: "u", extra: 1 } }, "metadata.extra"],
    ["gpt-4o-mini", { top_k: 5 }, "top_k"],
    ["gpt-4o-mini", { messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }] }] }] }, "messages.0.content.0.content"],
  ];
  test.each(cases)("%s %j → 400 naming %s", async (model, fields, param) => {
    const sent = w.fake.requests.length;
    const rows = ledgerRows(w.core).length;
    const body = JSON.parse(JSON.stringify({ model, max_tokens: 100, messages: ask, ...fields }));
    const res = await post(body);
    const json = (await res.json()) as any;
    expect({ status: res.status, type: json.type, errorType: json.error?.type }).toEqual({ status: 400, type: "error", errorType: "invalid_request_error" });
    expect(json.error.message).toStartWith(`${param}: `);
    expect(w.fake.requests.length).toBe(sent);
    expect(ledgerRows(w.core).length).toBe(rows);
  });

  test("a body that is not JSON gets Anthropic's envelope too", async () => {
    const res = await fetch(`${w.gw.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": w.token }, body: "{nope" });
    expect(res.status).toBe(400);
    const json = (await res.json()) as any;
    expect(json.type).toBe("error");
    expect(json.error.type).toBe("invalid_request_error");
  });
});
