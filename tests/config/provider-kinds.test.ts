// Config of the gemini, azure-openai and bedrock provider kinds: what each needs is required, a
// setting of another kind is refused (never ignored), and the AWS keys are secrets.
import { describe, expect, test } from "bun:test";
import { readEnvironment } from "../../src/config/env.ts";
import { buildGatewayConfig } from "../../src/config/load.ts";
import { redactConfig } from "../../src/config/redact.ts";

const build = (providers: Record<string, unknown>, vars: Record<string, string> = {}) => buildGatewayConfig({ providers }, readEnvironment(vars), "openclaw.json");

const OK = {
  gem: { kind: "gemini", baseUrl: "https://generativelanguage.googleapis.com/v1beta", apiKey: "${GEMINI_API_KEY}" },
  az: { kind: "azure-openai", baseUrl: "https://my-resource.openai.azure.com", apiKey: "${AZURE_KEY}", apiVersion: "2024-10-21" },
  br: { kind: "bedrock", baseUrl: "https://bedrock-runtime.us-east-1.amazonaws.com", region: "us-east-1", accessKeyId: "${AWS_KEY}", secretAccessKey: "${AWS_SECRET}", sessionToken: "${AWS_TOKEN}" },
};
const VARS = { GEMINI_API_KEY: "g-key", AZURE_KEY: "az-key", AWS_KEY: "AKIAEXAMPLE", AWS_SECRET: "aws-secret-value", AWS_TOKEN: "aws-session-token" };

describe("provider kinds gemini, azure-openai, bedrock", () => {
  test("each loads with what it needs, ${VAR} references expanded", () => {
    const c = build(OK, VARS);
    expect(c.providers.gem).toMatchObject({ kind: "gemini", apiKey: "g-key", timeoutMs: 120_000 });
    expect(c.providers.az).toMatchObject({ kind: "azure-openai", apiKey: "az-key", apiVersion: "2024-10-21" });
    expect(c.providers.br).toMatchObject({ kind: "bedrock", region: "us-east-1", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "aws-secret-value", sessionToken: "aws-session-token" });
  });

  test.each([
    [{ az: { kind: "azure-openai", baseUrl: "https://x", apiKey: "k" } }, '"providers.az.apiVersion" is required for kind "azure-openai"'],
    [{ az: { kind: "azure-openai", baseUrl: "https://x", apiVersion: "2024-10-21" } }, '"providers.az.apiKey" is required for kind "azure-openai"'],
    [{ br: { kind: "bedrock", baseUrl: "https://x", accessKeyId: "a", secretAccessKey: "s" } }, '"providers.br.region" is required for kind "bedrock"'],
    [{ br: { kind: "bedrock", baseUrl: "https://x", region: "us-east-1", accessKeyId: "a" } }, '"providers.br.secretAccessKey" is required for kind "bedrock"'],
    [{ br: { kind: "bedrock", baseUrl: "https://x", region: "us-east-1", accessKeyId: "a", secretAccessKey: "s", apiKey: "k" } }, '"providers.br.apiKey" is not used by kind "bedrock"'],
    [{ o: { kind: "openai", baseUrl: "https://x", apiVersion: "2024-10-21" } }, '"providers.o.apiVersion" is only for kind "azure-openai" providers'],
    [{ g: { kind: "gemini", baseUrl: "https://x", region: "us-east-1" } }, '"providers.g.region" is only for kind "bedrock" providers'],
    [{ br: { kind: "bedrock", baseUrl: "https://x", region: "US East", accessKeyId: "a", secretAccessKey: "s" } }, '"providers.br.region"'],
  ])("refuses %j", (providers, message) => {
    expect(() => build(providers)).toThrow(message);
  });

  test("config show redacts the AWS keys and the session token", () => {
    const shown = JSON.stringify(redactConfig(build(OK, VARS)));
    for (const secret of Object.values(VARS)) expect(shown).not.toContain(secret);
    expect(shown).toContain("bedrock-runtime.us-east-1.amazonaws.com");
  });
});
