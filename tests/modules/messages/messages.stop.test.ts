// Model calls end with their tenant (README "Suspend and delete end running work"): a stream on
// /v1/messages or /v1/chat/completions whose tenant is suspended, or whose token is rotated away, ends
// with an error event, the provider call aborted and the call charged as a cut stream; a non-streaming
// call gets the 401; a suspension made by another process (the CLI) is noticed at the next item.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { operatorCtx, scope, testCore } from "../../helpers/core.ts";
import { chatWorld, ledgerRows, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeEach(async () => {
  w = await chatWorld();
});
afterEach(() => w.close());

const slow = "long [[words:200]] [[slow:30]]";
const streams = {
  messages: (token: string) =>
    fetch(`${w.gw.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": token }, body: JSON.stringify({ model: "claude-x", max_tokens: 500, stream: true, messages: [{ role: "user", content: slow }] }) }),
  chat: (token: string) =>
    fetch(`${w.gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: slow }] }) }),
};

/** Reads a response to its end; the text and how long that took. */
async function drain(res: Response): Promise<{ text: string; ms: number }> {
  const t0 = performance.now();
  const text = await res.text();
  return { text, ms: performance.now() - t0 };
}

async function settledRow(): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const row = ledgerRows(w.core).at(-1);
    if (row.status !== "in_flight") return row;
    await Bun.sleep(10);
  }
  throw new Error("the call never settled");
}

for (const [surface, open] of Object.entries(streams)) {
  describe(`${surface} stream`, () => {
    test("suspending the tenant ends it: an error event, the provider call aborted, charged as cut", async () => {
      const res = await open(w.token);
      const reader = res.body!.getReader();
      await reader.read();
      w.core.tenants.suspend(scope("acme"), operatorCtx);
      let text = "";
      const dec = new TextDecoder();
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        text += dec.decode(r.value);
      }
      expect(text).toContain(surface === "messages" ? '"type":"authentication_error"' : '"code":"unauthorized"');
      expect(text.split("w199").length).toBe(1); // it did not run to its end
      for (let i = 0; i < 100 && !w.fake.requests.at(-1)!.aborted; i++) await Bun.sleep(10);
      expect(w.fake.requests.at(-1)!.aborted).toBe(true);
      const row = await settledRow();
      expect({ status: row.status, error: row.error_code }).toEqual({ status: "error", error: "tenant_stopped" });
      expect(row.input_tokens).toBe(row.input_bound);
      expect(w.core.chat.surface.governed.inFlight).toBe(0);
    });

    test("rotating the token away without grace ends the streams it opened", async () => {
      const res = await open(w.token);
      const reader = res.body!.getReader();
      await reader.read();
      w.core.tenants.rotateToken(scope("acme"), 0, operatorCtx);
      const { ms } = await drain(new Response(new ReadableStream({ pull: async (c) => { const r = await reader.read(); if (r.done) c.close(); else c.enqueue(r.value); } })));
      expect(ms).toBeLessThan(3000); // 200 words at 30 ms would take 6 s
      expect((await settledRow()).error_code).toBe("tenant_stopped");
    });

    test("a suspension made by another process is noticed at the next item", async () => {
      const res = await open(w.token);
      const reader = res.body!.getReader();
      await reader.read();
      const cli = testCore({ home: w.core.home });
      try {
        cli.tenants.suspend(scope("acme"), operatorCtx);
        const { text, ms } = await drain(new Response(new ReadableStream({ pull: async (c) => { const r = await reader.read(); if (r.done) c.close(); else c.enqueue(r.value); } })));
        expect(ms).toBeLessThan(3000);
        expect(text).toContain("invalid or missing credentials");
        expect((await settledRow()).error_code).toBe("tenant_stopped");
      } finally {
        cli.close();
      }
    });
  });
}

test("a non-streaming call whose tenant is suspended meanwhile gets the 401, in Anthropic's envelope", async () => {
  const pending = fetch(`${w.gw.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": w.token }, body: JSON.stringify({ model: "claude-x", max_tokens: 50, messages: [{ role: "user", content: "x [[slow:2000]]" }] }) });
  for (let i = 0; i < 200 && w.core.chat.surface.governed.inFlight === 0; i++) await Bun.sleep(5);
  w.core.tenants.suspend(scope("acme"), operatorCtx);
  const res = await pending;
  expect(res.status).toBe(401);
  expect(await res.json()).toEqual({ type: "error", error: { type: "authentication_error", message: "invalid or missing credentials" } });
  expect((await settledRow()).error_code).toBe("tenant_stopped");
});

// Red-team finding F4 of issue 15: a suspension made by another process (the CLI) reached streams at
// their next item but never a non-streaming call, whose answer was delivered after the tenant stopped.
describe.each([
  ["/v1/messages", { model: "claude-x", max_tokens: 50, messages: [{ role: "user", content: "x [[slow:1500]]" }] }, (t: string) => ({ "x-api-key": t })],
  ["/v1/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "x [[slow:1500]]" }] }, (t: string) => ({ authorization: `Bearer ${t}` })],
  ["/v1/responses", { model: "gpt-4o-mini", input: "x [[slow:1500]]" }, (t: string) => ({ authorization: `Bearer ${t}` })],
] as const)("a non-streaming call on %s whose tenant another process suspends meanwhile", (path, body, auth) => {
  test("gets the 401, not the answer, and is charged as stopped", async () => {
    const pending = fetch(`${w.gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...auth(w.token) }, body: JSON.stringify(body) });
    for (let i = 0; i < 200 && w.core.chat.surface.governed.inFlight === 0; i++) await Bun.sleep(5);
    const cli = testCore({ home: w.core.home });
    try {
      cli.tenants.suspend(scope("acme"), operatorCtx);
      const res = await pending;
      expect(res.status).toBe(401);
      expect(await res.text()).toContain("invalid or missing credentials");
      const row = await settledRow();
      expect(row.error_code).toBe("tenant_stopped");
      expect(row.output_tokens).toBeGreaterThan(0);
    } finally {
      cli.close();
    }
  });
});
