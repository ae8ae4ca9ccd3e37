import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { readEnvironment } from "../../src/config/env.ts";
import { buildGatewayConfig, loadGatewayConfig } from "../../src/config/load.ts";
import { redactConfig, REDACTED } from "../../src/config/redact.ts";
import { makeHome } from "../helpers/core.ts";

const env = (vars: Record<string, string> = {}) => readEnvironment(vars);
const build = (raw: unknown, vars: Record<string, string> = {}) => buildGatewayConfig(raw, env(vars), "openclaw.json");

const PRODUCT_EXAMPLE = `{
  // the contract's example, comments and trailing commas included
  "gateway":      { "host": "127.0.0.1", "port": 18789, "trustedProxies": [] },
  "controlPlane": { "apiKeyHash": "${"a".repeat(64)}" },
  "providers": {
    "local":     { "kind": "openai",    "baseUrl": "http://127.0.0.1:11434/v1", "apiKey": "\${LOCAL_KEY}" },
    "anthropic": { "kind": "anthropic", "baseUrl": "https://api.anthropic.com", "apiKey": "\${ANTHROPIC_API_KEY}" },
  },
  "models": { "gpt-4o-mini": { "provider": "local", "upstreamModel": "gpt-4o-mini" } },
  "billing": { "currency": "USD", "rateCard": { "gpt-4o-mini": { "input": 0.15, "output": 0.60, "cacheRead": 0.075, "cacheWrite": 0, "reasoning": 0.60 } } },
  "quotas":  { "defaults": { "tokensPerDay": 1000000, "costPerDayUsd": 10, "requestsPerMinute": 60, "maxConcurrent": 8 } },
  "sandbox": { "mode": "bwrap", "allowedModes": ["bwrap", "docker"], "docker": { "image": "openclaw-sandbox:latest", "runtime": "runc" } },
  "backup":  { "s3": { "endpoint": "http://127.0.0.1:4569", "region": "us-east-1", "forcePathStyle": true,
                       "accessKeyId": "\${S3_KEY}", "secretAccessKey": "\${S3_SECRET}" },
               "encryptionKey": "\${BACKUP_KEY}" },
  "audit":   { "path": "audit.log" },
}`;

describe("gateway config", () => {
  test("a missing file means defaults", () => {
    const home = makeHome();
    const loaded = loadGatewayConfig(home, env());
    expect(loaded.exists).toBe(false);
    expect(loaded.config.gateway).toMatchObject({ host: "127.0.0.1", port: 18789, trustedProxies: [] });
    expect(loaded.config.quotas.defaults).toEqual({ tokensPerDay: 1_000_000, costPerDayUsd: 10, requestsPerMinute: 60, maxConcurrent: 8 });
    expect(loaded.config.providers).toEqual({});
    expect(loaded.config.audit.path).toBe("audit.log");
    expect(Object.isFrozen(loaded.config.gateway)).toBe(true);
  });

  test("the contract's example loads, with ${ENV} references expanded", () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), PRODUCT_EXAMPLE);
    const vars = { LOCAL_KEY: "lk", ANTHROPIC_API_KEY: "ak", S3_KEY: "s3k", S3_SECRET: "s3s", BACKUP_KEY: "bk-0123456789abcdef" };
    const { config } = loadGatewayConfig(home, env(vars));
    expect(config.providers.local!.apiKey).toBe("lk");
    expect(config.backup.s3!.secretAccessKey).toBe("s3s");
    expect(config.billing.rateCard["gpt-4o-mini"]!.cacheRead).toBe(0.075);
  });

  test("a missing environment variable names the key that needs it", () => {
    expect(() => build({ providers: { local: { kind: "openai", baseUrl: "http://x", apiKey: "${NOPE}" } } })).toThrow('openclaw.json: "providers.local.apiKey" references ${NOPE}, which is not set in the environment');
  });

  test("$${ escapes a literal ${", () => {
    const c = build({ providers: { p: { kind: "openai", baseUrl: "http://x", apiKey: "$${NOT_A_REF}" } } });
    expect(c.providers.p!.apiKey).toBe("${NOT_A_REF}");
  });

  test.each([
    [{ gateway: { port: 70000 } }, '"gateway.port"'],
    [{ gateway: { prot: 1 } }, '"gateway.prot" is not a known key'],
    [{ nonsense: true }, '"nonsense" is not a known key'],
    [{ gateway: { trustedProxies: ["10.0.0.0/33"] } }, '"gateway.trustedProxies[0]" "10.0.0.0/33" is not an IP address or CIDR'],
    [{ models: { m: { provider: "ghost", upstreamModel: "x" } } }, '"models.m.provider" names provider "ghost", which is not configured'],
    [{ billing: { rateCard: { m: { input: 1, output: 1 } } } }, '"billing.rateCard.m" prices a model that is not configured'],
    [{ sandbox: { mode: "docker", allowedModes: ["bwrap"] } }, '"sandbox.mode" "docker" is not in sandbox.allowedModes'],
    [{ providers: { p: { kind: "grpc", baseUrl: "http://x" } } }, '"providers.p.kind"'],
    [{ controlPlane: { apiKeyHash: "nothex" } }, '"controlPlane.apiKeyHash"'],
    [[], "the top level must be a JSON object"],
  ])("rejects %j", (raw, message) => {
    expect(() => build(raw)).toThrow(message);
  });

  test("syntax errors name the line and column", () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), '{\n  "gateway": { "port": 1 \n}');
    expect(() => loadGatewayConfig(home, env())).toThrow(/^openclaw\.json:3:\d+: /);
  });

  test("flags override the file", () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), '{"gateway":{"port":1234}}');
    expect(loadGatewayConfig(home, env(), { port: 0, host: "0.0.0.0" }).config.gateway).toMatchObject({ port: 0, host: "0.0.0.0" });
  });

  test("config show redacts every secret and keeps the structure", () => {
    const vars = { LOCAL_KEY: "sk-live-local", ANTHROPIC_API_KEY: "sk-ant-1", S3_KEY: "AKIAXXXX", S3_SECRET: "s3-secret", BACKUP_KEY: "backup-key-0123456789" };
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), PRODUCT_EXAMPLE);
    const cfg = loadGatewayConfig(home, env(vars)).config;
    const shown = JSON.stringify(redactConfig({ ...cfg, providers: { ...cfg.providers, h: { kind: "openai", baseUrl: "http://x", headers: { authorization: "Bearer sekrit" } } } }));
    for (const secret of [...Object.values(vars), "a".repeat(64), "sekrit"]) expect(shown).not.toContain(secret);
    expect(shown).toContain(REDACTED);
    expect(shown).toContain("http://127.0.0.1:11434/v1");
  });
});

describe("backup and sandbox keys", () => {
  test("a short encryption key, a bad egress entry and a bad allowPrivate entry are refused, named", () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ backup: { encryptionKey: "short" }, sandbox: { egress: { tools: { web: ["*.com:443"] }, allowPrivate: ["not-an-ip"] } } }));
    let message = "";
    try {
      loadGatewayConfig(home, env({}));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('"backup.encryptionKey" must be at least 16 characters');
    expect(message).toContain('"sandbox.egress.tools.web[0]"');
    expect(message).toContain('"sandbox.egress.allowPrivate[0]" "not-an-ip" is not an IP address or CIDR');
  });
});
