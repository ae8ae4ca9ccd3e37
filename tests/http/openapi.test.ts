// The served OpenAPI document (issue 15 §7): valid OpenAPI 3.1 by a real validator, a description on
// every response, one shared error schema, and the 4xx each operation returns — checked against what
// the routes actually answer. Routes added later are covered by mounting them: nothing here lists them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import type { Core } from "../../src/app/core.ts";
import { adminKey, testApp, testCore } from "../helpers/core.ts";

type Op = { path: string; method: string; op: Record<string, any> };

let core: Core;
let call: ReturnType<typeof testApp>["call"];
let doc: Record<string, any>;
let ops: Op[];
let key: string;
beforeAll(async () => {
  // Every operation is probed without credentials: the failures of one address must not trip its throttle.
  core = testCore({ config: { gateway: { authThrottle: { perIpMaxFailures: 100_000, perIpTenantMaxFailures: 100_000 } } } });
  key = adminKey(core);
  call = testApp(core).call;
  doc = (await call("GET", "/admin/openapi.json")).json;
  ops = Object.entries<Record<string, any>>(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
});
afterAll(() => core.close());

const documented = (o: Op, status: number) => Object.keys(o.op.responses).includes(String(status));
/** A concrete URL for a templated path: ids that do not exist. */
const urlOf = (path: string) => path.replace(/\{[^}]+\}/g, "does-not-exist");

describe("OpenAPI document", () => {
  test("is valid OpenAPI 3.1 for @apidevtools/swagger-parser", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const api = await SwaggerParser.validate(structuredClone(doc) as never);
    expect(Object.keys(api.paths ?? {}).length).toBeGreaterThan(10);
  });

  test("every response is described; error responses share one schema; nothing internal is left", () => {
    expect(ops.length).toBeGreaterThan(10);
    for (const o of ops) {
      expect(o.op["x-errors"]).toBeUndefined();
      for (const [status, res] of Object.entries<Record<string, any>>(o.op.responses)) {
        const r = res.$ref ? doc.components.responses[res.$ref.split("/").pop()] : res;
        expect(typeof r?.description, `${o.method} ${o.path} ${status}`).toBe("string");
        if (Number(status) >= 400 && res.$ref) expect(r.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
        if (r.content) expect(Object.keys(r.content)).toEqual(["application/json"]);
      }
    }
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message"]);
  });

  test("operations list the 4xx their shape implies", () => {
    for (const o of ops) {
      const where = `${o.method} ${o.path}`;
      if (o.op.security?.length) expect([where, documented(o, 401), documented(o, 429)]).toEqual([where, true, true]);
      if (o.op.requestBody) expect([where, documented(o, 400), documented(o, 413), documented(o, 415)]).toEqual([where, true, true, true]);
      if (o.path.includes("{")) expect([where, documented(o, 404)]).toEqual([where, true]);
    }
    const create = ops.find((o) => o.op.operationId === "tenants.create")!;
    expect(documented(create, 409)).toBe(true);
  });

  test("what the routes answer is documented: no credentials, unknown ids, bad bodies", async () => {
    const seen: string[] = [];
    for (const o of ops) {
      const url = urlOf(o.path);
      const method = o.method.toUpperCase();
      const tries = [
        await call(method, url, o.op.requestBody ? { body: {} } : {}),
        await call(method, url, { token: key, ...(o.op.requestBody ? { body: { notAField: 1 } } : {}) }),
      ];
      if (o.op.requestBody) tries.push(await call(method, url, { token: key, rawBody: "x=1", headers: { "content-type": "text/plain" } }));
      for (const r of tries) {
        if (r.status >= 400 && r.status < 500) {
          expect(`${method} ${o.path} → ${r.status}: ${documented(o, r.status)}`).toBe(`${method} ${o.path} → ${r.status}: true`);
          seen.push(String(r.status));
        }
      }
    }
    // The probe did reach the error paths it is meant to check.
    expect(new Set(seen)).toEqual(new Set(["400", "401", "404", "415"]));
  });
});
