// The stored-responses caps under concurrency (red-team finding F3 of issue 15): a request that asks to
// store holds its room (one row and its input bytes) from the check until its response is stored or
// it ends without one, so requests admitted together cannot all pass the same check; a request that
// fails, is cut or stores nothing gives its room back.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chatWorld, errorOf, type ChatWorld } from "../../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld({ config: { responses: { maxStoredPerTenant: 3 } } });
});
afterAll(() => w.close());

const stored = () => {
  w.core.responsesWriter.flush();
  return (w.core.handle.sqlite.query("SELECT count(*) AS n FROM stored_responses").get() as { n: number }).n;
};

const deleteAll = async () => {
  w.core.responsesWriter.flush();
  const ids = w.core.handle.sqlite.query("SELECT id FROM stored_responses").all() as { id: string }[];
  for (const { id } of ids) await w.client().responses.delete(id);
};

describe("stored-responses caps hold under concurrency", () => {
  test("eight requests at once against a cap of three: three are stored, five refused before anything is sent", async () => {
    await deleteAll();
    const before = w.fake.requests.length;
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () =>
        w.client().responses.create({ model: "gpt-4o-mini", input: "slowly [[slow:300]] [[words:2]]" }).then(
          () => 200,
          (e) => e.status as number,
        ),
      ),
    );
    expect(outcomes.filter((s) => s === 200).length).toBe(3);
    expect(outcomes.filter((s) => s === 429).length).toBe(5);
    expect(w.fake.requests.length - before).toBe(3);
    expect(stored()).toBe(3);
  });

  test("streams hold their room until they end; a failed or cut request gives it back", async () => {
    await deleteAll();
    // Two streams in flight and one stored: the cap of three is reached while they run.
    await w.client().responses.create({ model: "gpt-4o-mini", input: "one [[words:1]]" });
    const ac = new AbortController();
    const s1 = await w.client().responses.create({ model: "gpt-4o-mini", input: "slow [[slow:100]] [[words:50]]", stream: true }, { signal: ac.signal });
    const s2 = await w.client().responses.create({ model: "gpt-4o-mini", input: "fast [[words:2]]", stream: true });
    const refused = await errorOf(w.client().responses.create({ model: "gpt-4o-mini", input: "x" }));
    expect(refused.status).toBe(429);
    // s2 completes and is stored; s1 is cut by its client and stores nothing.
    for await (const _ of s2);
    const it = s1[Symbol.asyncIterator]();
    await it.next();
    ac.abort();
    await Bun.sleep(200);
    expect(stored()).toBe(2);
    // A request that fails upstream gives its room back too.
    const failed = await errorOf(w.client().responses.create({ model: "gpt-4o-mini", input: "boom [[error:400]]" }));
    expect(failed.status).toBe(400);
    const ok = await w.client().responses.create({ model: "gpt-4o-mini", input: "three [[words:1]]" });
    expect(ok.status).toBe("completed");
    expect(stored()).toBe(3);
  });
});
