// A /v1/responses stream whose tenant is suspended ends (translated or passed through): the provider
// call is aborted, the client gets response.failed or an error event, and nothing is stored.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chatWorld, ledgerRows, RATES, type ChatWorld } from "../../helpers/chat.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({
    config: {
      providers: { native: { kind: "openai", baseUrl: "FAKE/v1", apiKey: "sk-native", responses: true, timeoutMs: 5000 } },
      models: { "gpt-native": { provider: "native", upstreamModel: "fake-responses" } },
      billing: { rateCard: { "gpt-4o-mini": RATES, "gpt-native": RATES } },
    },
  });
});
afterAll(() => w.close());

test("translated: suspending the tenant mid-stream ends it with response.failed; nothing stored", async () => {
  const res = await fetch(`${w.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", input: "[[words:40]] [[slow:50]]", stream: true }) });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = "";
  let suspended = false;
  const started = Date.now();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    if (!suspended && text.includes("response.output_text.delta")) {
      suspended = true;
      w.core.tenants.suspend(scope("acme"), operatorCtx);
    }
  }
  expect(suspended).toBe(true);
  // 40 words at 50 ms each would take 2 s; the stream ended well before.
  expect(Date.now() - started).toBeLessThan(1500);
  expect(text).toContain("event: response.failed");
  expect(text).not.toContain("event: response.completed");
  const id = /"id":"(resp_[0-9a-f]{32})"/.exec(text)![1]!;
  w.core.responsesWriter.flush();
  expect(w.core.handle.sqlite.query("SELECT count(*) AS n FROM stored_responses WHERE id = ?1").get(id)).toEqual({ n: 0 });
  expect(ledgerRows(w.core).at(-1).status).not.toBe("ok");
  w.core.tenants.resume(scope("acme"), operatorCtx);
});

test("passed through: suspending the tenant mid-stream ends it with an error event; nothing stored", async () => {
  const res = await fetch(`${w.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-native", input: "[[words:40]] [[slow:50]]", stream: true }) });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = "";
  let suspended = false;
  const started = Date.now();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    if (!suspended && text.includes("response.output_text.delta")) {
      suspended = true;
      w.core.tenants.suspend(scope("acme"), operatorCtx);
    }
  }
  expect(suspended).toBe(true);
  expect(Date.now() - started).toBeLessThan(1500);
  expect(text).toContain("event: error");
  expect(text).not.toContain("event: response.completed");
  const id = /"id":"(resp_[0-9a-f]{32})"/.exec(text)![1]!;
  w.core.responsesWriter.flush();
  expect(w.core.handle.sqlite.query("SELECT count(*) AS n FROM stored_responses WHERE id = ?1").get(id)).toEqual({ n: 0 });
  // The provider sees its connection closed (its side learns it a moment later).
  const upstream = w.fake.requests.at(-1)!;
  for (let i = 0; i < 100 && !upstream.aborted; i++) await Bun.sleep(10);
  expect(upstream.aborted).toBe(true);
  w.core.tenants.resume(scope("acme"), operatorCtx);
});
