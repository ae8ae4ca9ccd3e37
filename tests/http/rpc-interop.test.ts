// POST /rpc with a real JSON-RPC client (issue 15 §7): @open-rpc/client-js sends `params: []` for a
// call without parameters; that is "no parameters", not a positional call.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client, HTTPTransport, RequestManager } from "@open-rpc/client-js";
import { chatWorld, type ChatWorld } from "../helpers/chat.ts";

let w: ChatWorld;
beforeAll(async () => {
  w = await chatWorld();
});
afterAll(() => w.close());

const rpc = () => new Client(new RequestManager([new HTTPTransport(`${w.gw.url}/rpc`, { headers: { authorization: `Bearer ${w.token}` } })]));

describe("params: []", () => {
  test("@open-rpc/client-js calls a method without parameters", async () => {
    const result = await rpc().request({ method: "health" });
    expect(result).toMatchObject({ status: "ok", tenantId: "acme" });
  });

  test("an empty array is no parameters; a non-empty one is still refused as positional", async () => {
    const send = (body: unknown) => fetch(`${w.gw.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
    expect((await send({ jsonrpc: "2.0", id: 1, method: "health", params: [] })).result).toMatchObject({ status: "ok" });
    const positional = await send({ jsonrpc: "2.0", id: 2, method: "tenants.get", params: ["acme"] });
    expect(positional.error.code).toBe(-32602);
    // A batch of parameterless calls as the client sends them.
    const batch = (await send([1, 2].map((id) => ({ jsonrpc: "2.0", id, method: "health", params: [] })))) as any[];
    expect(batch.map((r) => r.result?.status)).toEqual(["ok", "ok"]);
  });
});
