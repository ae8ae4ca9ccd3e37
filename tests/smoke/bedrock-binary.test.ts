// The compiled binary routes a bedrock model: the AWS SDK the bedrock kind loads on its first call
// (a dynamic import) is inside the binary, signs with the configured keys, and streams ConverseStream.
import { afterAll, beforeAll, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { makeHome } from "../helpers/core.ts";
import { binary, run, startGatewayProcess, type RunningGateway } from "../helpers/binary.ts";
import { startBedrockFake } from "../fake-provider/bedrock.ts";
import type { StandIn } from "../fake-provider/stand-in.ts";

const AWS = { accessKeyId: "AKIDBINARY", secretAccessKey: "binary-secret", region: "us-west-2" };
let gw: RunningGateway;
let fake: StandIn;
let token: string;

beforeAll(async () => {
  fake = startBedrockFake(AWS);
  const bin = binary();
  const home = path.join(makeHome(), "home");
  const env = { OPENCLAW_HOME: home };
  token = JSON.parse(run(bin, ["tenants", "create", "acme", "--json"], env).stdout).token;
  const rate = { input: 1, output: 2 };
  fs.writeFileSync(
    path.join(home, "openclaw.json"),
    JSON.stringify({ providers: { aws: { kind: "bedrock", baseUrl: fake.url, ...AWS } }, models: { nova: { provider: "aws", upstreamModel: "amazon.nova-lite-v1:0" } }, billing: { rateCard: { nova: rate } } }),
  );
  gw = await startGatewayProcess([bin], env);
});

afterAll(() => {
  gw?.proc.kill("SIGKILL");
  fake?.stop();
});

test("a bedrock model answers through the compiled binary, JSON and stream", async () => {
  const post = (stream: boolean) =>
    fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "nova", messages: [{ role: "user", content: "[[words:3]]" }], stream }) });
  const res = await post(false);
  expect(res.status).toBe(200);
  const body = (await res.json()) as any;
  expect(body.choices[0].message.content).toBe("w0 w1 w2");
  expect(body.usage.completion_tokens).toBe(3);
  expect(fake.last().headers.authorization).toContain(`Credential=${AWS.accessKeyId}/`);
  const s = await post(true);
  const text = await s.text();
  expect(text).toContain('"content":" w2"');
  expect(text).toEndWith("data: [DONE]\n\n");
});
