// A request never outlives the identity it was admitted as (red team 11, finding 6). A batch whose
// first item is slow — a 1.5 s sandbox run — is overtaken by the operator: the tenant is deleted and
// a new tenant created under the same id, or it is suspended, or its token rotated without grace.
// None of the later items may run, and the request ends with the very 401 an invalid token gets.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { operatorCtx, testApp, scope } from "../helpers/core.ts";
import { MODES, sandboxWorld } from "../helpers/sandbox.ts";

const call = (id: number, method: string, params: Record<string, unknown> = {}) => ({ jsonrpc: "2.0", id, method, params });
const slow = call(1, "sandbox.exec", { command: "/bin/sh", args: ["-c", "sleep 1.5; echo slept"] });
/** Later items: read a secret, set the overlay, plant a file from a sandbox, rotate the token. */
const later = [
  call(2, "files.read", { path: "secret.txt" }),
  call(3, "config.get"),
  call(4, "tenants.get"),
  call(5, "files.write", { path: "planted-by-files.txt", content: "old owner" }),
  call(6, "config.set", { config: { agent: { systemPrompt: "old owner's prompt" } } }),
  call(7, "sandbox.exec", { command: "/bin/sh", args: ["-c", "echo pwned > /work/planted.txt"] }),
  call(8, "tenants.rotate", { grace: "0" }),
];

function world() {
  const w = sandboxWorld(MODES[0]!);
  const app = testApp(w.core);
  return { ...w, app };
}

/** The 401 a made-up token gets on /rpc, byte for byte (status, body, www-authenticate). */
async function invalidTokenAnswer(app: ReturnType<typeof testApp>) {
  const r = await app.call("POST", "/rpc", { token: "ocmu_alpha_000SYW7RiJxkEgOGusQGwp1HRH4J", body: call(1, "health") });
  return { status: r.status, text: r.text, auth: r.headers.get("www-authenticate") };
}

/** Starts the batch, waits until its slow first item is running, does `change`, and returns the answer. */
async function overtake(w: ReturnType<typeof world>, token: string, change: () => void) {
  const pending = w.app.call("POST", "/rpc", { token, body: [slow, ...later] });
  await Bun.sleep(500);
  change();
  const r = await pending;
  return { status: r.status, text: r.text, auth: r.headers.get("www-authenticate") };
}

describe("a batch overtaken by a change of identity stops before its next item", () => {
  test("delete and re-create under the same id: nothing of the new tenant's is read, written or run", async () => {
    const w = world();
    const expected = await invalidTokenAnswer(w.app);
    const answer = await overtake(w, w.alpha, () => {
      w.core.tenants.remove(scope("alpha"), operatorCtx);
      w.core.tenants.create({ id: "alpha" }, operatorCtx);
      w.core.files.write(scope("alpha"), "secret.txt", Buffer.from("NEW OWNER SECRET"), {});
      w.core.overlays.set(scope("alpha"), { agent: { systemPrompt: "new owner's prompt" } }, operatorCtx);
    });
    expect(answer).toEqual(expected);
    expect(answer.text).not.toContain("NEW OWNER");
    const ws = w.workspace("alpha");
    expect(fs.existsSync(path.join(ws, "planted.txt"))).toBe(false);
    expect(fs.existsSync(path.join(ws, "planted-by-files.txt"))).toBe(false);
    expect(w.core.overlays.load(scope("alpha"))).toEqual({ agent: { systemPrompt: "new owner's prompt" } });
    expect(w.core.audit.query({ tenant: "alpha", action: "tenant.token.rotate" })).toHaveLength(0);
    w.core.close();
  }, 30_000);

  test("suspended mid-batch: no write, no config change, no new token for a suspended tenant", async () => {
    const w = world();
    const expected = await invalidTokenAnswer(w.app);
    const answer = await overtake(w, w.alpha, () => w.core.tenants.suspend(scope("alpha"), operatorCtx));
    expect(answer).toEqual(expected);
    expect(fs.existsSync(path.join(w.workspace("alpha"), "planted-by-files.txt"))).toBe(false);
    expect(fs.existsSync(path.join(w.workspace("alpha"), "planted.txt"))).toBe(false);
    expect(w.core.overlays.load(scope("alpha"))).toEqual({});
    expect(w.core.audit.query({ tenant: "alpha", action: "tenant.token.rotate" })).toHaveLength(0);
    w.core.close();
  }, 30_000);

  test("token rotated without grace mid-batch: the old token's request goes no further", async () => {
    const w = world();
    const expected = await invalidTokenAnswer(w.app);
    let fresh = "";
    const answer = await overtake(w, w.alpha, () => {
      fresh = w.core.tenants.rotateToken(scope("alpha"), 0, operatorCtx).token;
    });
    expect(answer).toEqual(expected);
    expect(fs.existsSync(path.join(w.workspace("alpha"), "planted-by-files.txt"))).toBe(false);
    expect(w.core.overlays.load(scope("alpha"))).toEqual({});
    // The operator's new token is the one that works, and only one rotation happened.
    expect((await w.app.rpc(fresh, "health")).result.tenantId).toBe("alpha");
    expect(w.core.audit.query({ tenant: "alpha", action: "tenant.token.rotate" })).toHaveLength(1);
    w.core.close();
  }, 30_000);

  test("the same on the OpenAI routes: a request whose token died before it was handled gets the 401", async () => {
    const w = world();
    // A body that arrives slowly: the token is rotated away while it is still being sent.
    let push: (s: string) => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        push = (s) => {
          c.enqueue(new TextEncoder().encode(s));
          if (s.endsWith("}")) c.close();
        };
      },
    });
    const pending = w.app.app.handle(
      new Request("http://localhost/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${w.alpha}`, "content-type": "application/json" }, body, duplex: "half" } as RequestInit),
    );
    await Bun.sleep(50);
    w.core.tenants.rotateToken(scope("alpha"), 0, operatorCtx);
    push('{"model":"none","messages":[{"role":"user","content":"hi"}]}');
    const res = await pending;
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe("invalid_api_key");
    w.core.close();
  }, 30_000);
});

describe("what does not end a request", () => {
  test("a rotation with grace leaves the old token working, so the batch goes on", async () => {
    const w = world();
    const answer = await overtake(w, w.alpha, () => w.core.tenants.rotateToken(scope("alpha"), 3_600_000, operatorCtx));
    expect(answer.status).toBe(200);
    const items = JSON.parse(answer.text) as { id: number; result?: unknown; error?: { data: { code: string } } }[];
    expect(items.map((i) => i.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fs.readFileSync(path.join(w.workspace("alpha"), "planted.txt"), "utf8")).toBe("pwned\n");
    w.core.close();
  }, 30_000);

  test("the request's own rotation: it goes on as the holder of the new token, which is returned and works", async () => {
    const w = world();
    const r = await w.app.call("POST", "/rpc", { token: w.alpha, body: [call(1, "tenants.rotate", { grace: "0" }), call(2, "files.write", { path: "after.txt", content: "x" }), call(3, "tenants.get")] });
    expect(r.status).toBe(200);
    const [rotated, written, got] = r.json;
    expect(written.result.path).toBe("after.txt");
    expect(got.result.tenantId).toBe("alpha");
    expect((await w.app.rpc(rotated.result.token, "health")).result.tenantId).toBe("alpha");
    expect((await w.app.rpc(w.alpha, "health")).status).toBe(401);
    w.core.close();
  }, 30_000);

  test("another tenant's changes do not end a tenant's batch", async () => {
    const w = world();
    const answer = await overtake(w, w.alpha, () => {
      w.core.tenants.remove(scope("beta"), operatorCtx);
      w.core.tenants.create({ id: "beta" }, operatorCtx);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toHaveLength(8);
    w.core.close();
  }, 30_000);
});
