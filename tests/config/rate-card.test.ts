// A model with no rate-card entry would be served for free, past every dollar quota (issue 15 §7):
// such a config is refused — by `config check` and at start-up — unless the model is marked free.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cli } from "../helpers/cli.ts";
import { makeHome, testCore } from "../helpers/core.ts";

const providers = { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } };

function homeWith(config: unknown): string {
  const home = makeHome();
  fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
  return home;
}

describe("unpriced models", () => {
  test("config check refuses a model with no price, naming it and the way out", async () => {
    const home = homeWith({ providers, models: { cheap: { provider: "p", upstreamModel: "c" }, priced: { provider: "p", upstreamModel: "x" } }, billing: { rateCard: { priced: { input: 1, output: 2 } } } });
    const r = await cli(home, ["config", "check"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('"models.cheap" has no price: add billing.rateCard["cheap"]');
    expect(r.err).toContain('mark the model "free": true');
    expect(r.err).not.toContain("models.priced");
  });

  test("the gateway does not start with it", () => {
    const home = homeWith({ providers, models: { cheap: { provider: "p", upstreamModel: "c" } } });
    expect(() => testCore({ home })).toThrow('"models.cheap" has no price');
  });

  test("a model marked free is accepted; free and priced at once is refused", async () => {
    const ok = homeWith({ providers, models: { cheap: { provider: "p", upstreamModel: "c", free: true } } });
    const r = await cli(ok, ["config", "check"]);
    expect([r.code, r.out]).toEqual([0, expect.stringContaining("ok:")]);
    const both = homeWith({ providers, models: { m: { provider: "p", upstreamModel: "c", free: true } }, billing: { rateCard: { m: { input: 1, output: 1 } } } });
    const b = await cli(both, ["config", "check"]);
    expect(b.code).toBe(1);
    expect(b.err).toContain('"models.m.free" is true, but billing.rateCard["m"] prices the model');
  });
});
