// sessions_list and session_history: the tenant's own sessions only (another tenant's key is the
// same NOT_FOUND as a missing one), paged, and capped by dropping whole entries (said so).
import { afterAll, describe, expect, test } from "bun:test";
import { toolWorld } from "./world.ts";

const w = toolWorld();
afterAll(() => w.core.close());
const summary = (key: string, updatedAt: number, entries: number) => ({ key, sessionId: `sid-${key}`, agentId: "main", createdAt: 1, updatedAt, entries });
w.sessions.add("alpha", summary("a-one", 10, 2), [{ type: "user", text: "alpha hello", ts: 1 }, { type: "assistant", text: "hi", ts: 2 }]);
w.sessions.add("alpha", summary("a-two", 20, 0), []);
w.sessions.add("beta", summary("b-private", 30, 1), [{ type: "user", text: "BETA-SECRET", ts: 1 }]);
w.sessions.add("alpha", summary("long", 5, 100), Array.from({ length: 100 }, (_, i) => ({ type: "user", text: `${i}:${"z".repeat(200)}`, ts: i })));

describe("sessions_list", () => {
  test("lists only the tenant's sessions, most recent first, paged", async () => {
    const r = await w.call("sessions_list", {}, w.ctx("alpha"));
    expect(r.isError).toBe(false);
    const page = JSON.parse(r.content);
    expect(page.sessions.map((s: { key: string }) => s.key)).toEqual(["a-two", "a-one", "long"]);
    expect(r.content).not.toContain("b-private");
    const first = JSON.parse((await w.call("sessions_list", { limit: 2 }, w.ctx("alpha"))).content);
    expect(first.sessions.length).toBe(2);
    const second = JSON.parse((await w.call("sessions_list", { limit: 2, cursor: first.nextCursor }, w.ctx("alpha"))).content);
    expect(second).toMatchObject({ sessions: [{ key: "long" }], nextCursor: null });
  });
});

describe("session_history", () => {
  test("reads the tenant's own transcript", async () => {
    const r = await w.call("session_history", { sessionKey: "a-one" }, w.ctx("alpha"));
    expect(JSON.parse(r.content)).toEqual({ entries: [{ type: "user", text: "alpha hello", ts: 1 }, { type: "assistant", text: "hi", ts: 2 }], nextCursor: null });
  });

  test("another tenant's session gives the same NOT_FOUND as one that does not exist", async () => {
    const other = await w.call("session_history", { sessionKey: "b-private" }, w.ctx("alpha"));
    const missing = await w.call("session_history", { sessionKey: "b-nothing" }, w.ctx("alpha"));
    expect(other.isError).toBe(true);
    expect(other.content).not.toContain("BETA-SECRET");
    expect(other.content.replace("b-private", "K")).toBe(missing.content.replace("b-nothing", "K"));
    expect(other.content).toStartWith("NOT_FOUND: ");
    // Its owner reads it.
    expect((await w.call("session_history", { sessionKey: "b-private" }, w.ctx("beta"))).content).toContain("BETA-SECRET");
  });

  test("a page larger than maxOutputBytes keeps whole entries, valid JSON, and says how many were left out", async () => {
    const r = await w.call("session_history", { sessionKey: "long", limit: 100 }, w.ctx("alpha", { maxOutputBytes: 3000 }));
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.content)).toBeLessThanOrEqual(3000);
    const page = JSON.parse(r.content);
    expect(page.entries.length).toBeGreaterThan(0);
    expect(page.entries.length + page.omitted).toBe(100);
    expect(page.note).toContain("smaller limit");
  });
});
