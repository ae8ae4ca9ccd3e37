// The CLI as an operator uses it: JSON output, one-line errors, non-zero exits. Commands run in this
// process (helpers/cli.ts: the binary's own command tree and output); the smoke tests run the binary.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { hoistGlobalOptions } from "../../src/cli/argv.ts";
import { startGateway } from "../../src/http/gateway.ts";
import { cli as run } from "../helpers/cli.ts";
import { makeHome, testCore } from "../helpers/core.ts";

const cli = (home: string, args: string[], env: Record<string, string> = {}) => run(home, args, { env });

describe("openclaw CLI", () => {
  test("tenants: create (JSON), list, show, quota set, delete with --confirm", async () => {
    const home = makeHome();
    const created = JSON.parse((await cli(home, ["tenants", "create", "acme", "--display-name", "Acme", "--quota.requests-per-minute", "unlimited", "--json"])).out);
    expect(Object.keys(created)).toEqual(["tenantId", "token", "tokenPrefix", "createdAt", "tenant"]);
    expect(created.tenant.quota.limits.requestsPerMinute).toBeNull();
    const list = JSON.parse((await cli(home, ["tenants", "list", "--json"])).out);
    expect(list.map((t: { tenantId: string }) => t.tenantId)).toEqual(["acme"]);
    expect((await cli(home, ["tenants", "show", "acme"])).out).toContain("Display name:  Acme");

    const badQuota = await cli(home, ["tenants", "quota", "set", "acme", "--quota.tokens-per-day", "lots"]);
    expect(badQuota.code).toBe(1);
    expect(badQuota.err.trim()).toBe('openclaw: --quota.tokens-per-day must be a non-negative integer, "unlimited" or "default" (got "lots")');
    expect((await cli(home, ["tenants", "quota", "set", "acme"])).code).toBe(1);
    const set = JSON.parse((await cli(home, ["tenants", "quota", "set", "acme", "--quota.cost-per-day-usd", "2.5", "--json"])).out);
    expect(set.limits.costPerDayUsd).toBe(2.5);

    const refused = await cli(home, ["tenants", "delete", "acme"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("Re-run with --confirm");
    expect(fs.existsSync(path.join(home, "tenants", "acme"))).toBe(true);
    expect((await cli(home, ["tenants", "delete", "ghost", "--confirm"])).err.trim()).toBe('openclaw: tenant "ghost" not found');
    expect((await cli(home, ["tenants", "delete", "acme", "--confirm"])).code).toBe(0);
    expect(fs.existsSync(path.join(home, "tenants", "acme"))).toBe(false);
  });

  test("--home and --json work before the subcommand as well as after it", async () => {
    const home = makeHome();
    const elsewhere = makeHome(); // OPENCLAW_HOME points here: --home must win wherever it is
    expect((await cli(elsewhere, ["--home", home, "tenants", "create", "acme"])).code).toBe(0);
    for (const args of [
      ["--home", home, "tenants", "list", "--json"],
      ["--home", home, "--json", "tenants", "list"],
      [`--home=${home}`, "--json", "tenants", "list"],
      ["--json", "tenants", "--home", home, "list"],
      ["tenants", "list", "--home", home, "--json"],
    ]) {
      const r = await cli(elsewhere, args);
      expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 0, err: "" });
      expect(JSON.parse(r.out).map((t: { tenantId: string }) => t.tenantId)).toEqual(["acme"]);
    }
    expect((await cli(elsewhere, ["--home", home, "tenants", "show", "acme"])).out).toContain("Tenant:        acme");
    expect(JSON.parse((await cli(elsewhere, ["tenants", "list", "--json"])).out)).toEqual([]);
    // Arguments after "--" belong to the command being run and are left alone.
    expect(hoistGlobalOptions(["--home", "/h", "sandbox", "exec", "--tenant", "a", "--", "prog", "--json", "--home", "x"])).toEqual([
      "sandbox", "exec", "--tenant", "a", "--home", "/h", "--", "prog", "--json", "--home", "x",
    ]);
  });

  test("--json errors are machine-readable too", async () => {
    const home = makeHome();
    const r = await cli(home, ["tenants", "show", "ghost", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({ error: { code: "NOT_FOUND", message: 'tenant "ghost" not found' } });
  });

  test("config check and show", async () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ providers: { p: { kind: "openai", baseUrl: "http://x/v1", apiKey: "${P_KEY}" } } }));
    const missing = await cli(home, ["config", "check"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("references ${P_KEY}, which is not set");
    expect((await cli(home, ["config", "check"], { P_KEY: "sk-1" })).out).toContain("ok:");
    const shown = await cli(home, ["config", "show"], { P_KEY: "sk-very-secret" });
    expect(shown.out).toContain('"apiKey": "[redacted]"');
    expect(shown.out).not.toContain("sk-very-secret");

    await cli(home, ["tenants", "create", "acme"], { P_KEY: "x" });
    fs.writeFileSync(path.join(home, "tenants", "acme", "openclaw.json"), '{"providers":{"p":{"apiKey":"mine"}}}');
    const bad = await cli(home, ["config", "check"], { P_KEY: "x" });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('tenants/acme/openclaw.json: "providers.p.apiKey" is admin-only');
    expect(bad.out).toContain("1 tenant overlay(s) are refused (the gateway still starts"); // see bad-overlay.test.ts
  });

  test("audit tail -n and --follow across a rotation", async () => {
    const home = makeHome();
    for (const id of ["a1", "a2", "a3"]) await cli(home, ["tenants", "create", id]);
    const last2 = (await cli(home, ["audit", "tail", "-n", "2"])).out.trim().split("\n");
    expect(last2.map((l) => JSON.parse(l).target.id)).toEqual(["a2", "a3"]);
    const stop = new AbortController();
    const follow = run(home, ["audit", "tail", "-n", "0", "--follow"], { signal: stop.signal });
    await Bun.sleep(600);
    await cli(home, ["tenants", "create", "b1"]);
    fs.renameSync(path.join(home, "audit.log"), path.join(home, "audit.log.1"));
    await Bun.sleep(400);
    await cli(home, ["tenants", "create", "b2"]);
    await Bun.sleep(600);
    stop.abort(); // SIGINT
    const printed = (await follow).out.trim().split("\n").map((l) => JSON.parse(l).target.id);
    expect(printed).toEqual(["b1", "b2"]);
  });

  test("doctor reports permissions problems", async () => {
    const home = makeHome();
    await cli(home, ["tenants", "create", "acme"]);
    const ok = await cli(home, ["doctor", "--json"]);
    expect(JSON.parse(ok.out).ok).toBe(true);
    fs.chmodSync(path.join(home, "audit.log"), 0o644);
    const bad = await cli(home, ["doctor"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/✗ file permissions: readable by others: audit\.log/);
  });

  test("healthcheck --url with a base URL asks its /readyz (red team 11: it used to poll / and get 404s)", async () => {
    const core = testCore({ config: { gateway: { port: 0 } } });
    const gw = startGateway(core);
    try {
      const check = (url: string) => cli(makeHome(), ["healthcheck", "--url", url, "--wait", "3", "--json"]);
      for (const base of [gw.url, `${gw.url}/`]) {
        const r = await check(base);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.out)).toEqual({ ready: true, url: `${gw.url}/readyz` });
      }
      expect((await check(`${gw.url}/healthz`)).code).toBe(0); // an explicit path is asked as given
      const wrong = await check(`${gw.url}/nope`);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toContain("HTTP 404");
      expect((await check("not a url")).err).toContain("is not a URL");
    } finally {
      await gw.stop();
    }
  }, 30_000);

  test("unknown commands and --help", async () => {
    const home = makeHome();
    expect((await cli(home, ["frobnicate"])).code).not.toBe(0);
    expect((await cli(home, ["tenants", "--help"])).out).toContain("create");
  });
});
