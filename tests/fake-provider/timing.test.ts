// The fake provider's own call timing (bench/openclaw-protocol.ts --timing fake): each POST is timed
// from the handler to its answer's last byte, streamed or not, on an absolute clock; the answers are
// the same as without it.
import { afterAll, expect, test } from "bun:test";
import { startFakeProvider, type TimedCall } from "./fake-provider.ts";

const calls: TimedCall[] = [];
const fake = startFakeProvider({ record: false, onCall: (c) => calls.push(c) });
afterAll(() => fake.stop());

const post = (body: object) => fetch(`${fake.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

test("a plain and a streamed call are each timed once, inside the client's own window, with the request's body", async () => {
  for (const stream of [false, true]) {
    calls.length = 0;
    const before = performance.timeOrigin + performance.now();
    fake.script([{ text: "hello there", delayMs: 30 }]);
    const res = await post({ model: "m", messages: [{ role: "user", content: "hi" }], stream });
    const text = await res.text();
    const after = performance.timeOrigin + performance.now();
    expect(res.status).toBe(200);
    expect(text).toContain("hello");
    expect(calls.length).toBe(1);
    const c = calls[0]!;
    expect(c.path).toBe("/v1/chat/completions");
    expect((c.body as { stream: boolean }).stream).toBe(stream);
    expect(c.start).toBeGreaterThanOrEqual(before);
    expect(c.end).toBeLessThanOrEqual(after);
    // The scripted 30 ms delay is inside the interval.
    expect(c.end - c.start).toBeGreaterThanOrEqual(29);
  }
});

test("GETs are not timed", async () => {
  calls.length = 0;
  expect((await fetch(`${fake.url}/v1/models`)).status).toBe(200);
  expect(calls.length).toBe(0);
});
