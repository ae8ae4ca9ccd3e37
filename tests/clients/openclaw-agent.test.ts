// Upstream's own CLI (`openclaw agent --message`, the pinned package under Node 24) against our
// gateway, configured the way an OpenClaw user points it at a remote gateway: OPENCLAW_GATEWAY_URL and
// OPENCLAW_GATEWAY_TOKEN (the tenant token). Two tenants; each sees only its own session.
import { describe, expect, test } from "bun:test";
import { clientEnv, clientsSuite, rpcHistoryTexts, rpcSessions, runOpenclaw } from "./harness.ts";

const suite = clientsSuite("openclaw-agent");

/** `openclaw agent --message <m> --json` as `token`; the reply text, or an error with what the CLI printed and the frames. */
async function agentTurn(token: string, message: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { env } = clientEnv(suite.u, suite.tap.url, token);
  return runOpenclaw(suite.u, ["agent", "--message", message, "--json"], env, 120_000);
}

const explain = (r: { code: number | null; stdout: string; stderr: string }) =>
  `openclaw agent exited ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}\n--- frames (client > gateway, < back)\n${suite.tap.transcript()}`;

describe("openclaw agent (upstream CLI) against our gateway", () => {
  test("the answer arrives; the session is the tenant's in our sessions.list and not the other's", async () => {
    suite.w.fake.script("alpha asks the cli", [{ text: "alpha-cli-answer seven" }]);
    const r = await agentTurn(suite.w.alpha, "alpha asks the cli");
    if (r.code !== 0) throw new Error(explain(r));
    const out = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
    expect(out.status).toBe("ok");
    expect(out.result.payloads[0].text).toBe("alpha-cli-answer seven");

    // The run went through the tenant's agent: its session is in alpha's RPC sessions.list...
    const alpha = await rpcSessions(suite.w, suite.w.alpha);
    expect(alpha.map((s) => s.key)).toContain("agent:main:main");
    const texts = await rpcHistoryTexts(suite.w, suite.w.alpha, "agent:main:main");
    expect(texts).toContain("alpha asks the cli");
    expect(texts).toContain("alpha-cli-answer seven");
    // ...and nowhere in beta's.
    expect(await rpcSessions(suite.w, suite.w.beta)).toEqual([]);

    // Beta's own turn lands in beta's session and leaves alpha's alone.
    suite.w.fake.script("beta asks the cli", [{ text: "beta-cli-answer" }]);
    const rb = await agentTurn(suite.w.beta, "beta asks the cli");
    if (rb.code !== 0) throw new Error(explain(rb));
    expect(JSON.parse(rb.stdout.slice(rb.stdout.indexOf("{"))).result.payloads[0].text).toBe("beta-cli-answer");
    expect(await rpcHistoryTexts(suite.w, suite.w.beta, "agent:main:main")).toEqual(["beta asks the cli", "beta-cli-answer"]);
    expect(await rpcHistoryTexts(suite.w, suite.w.alpha, "agent:main:main")).not.toContain("beta asks the cli");
  }, 300_000);

  test("a wrong token is refused: the CLI fails with upstream's unauthorized error and no model call is made", async () => {
    const before = suite.w.fake.requests.length;
    const r = await agentTurn(`${suite.w.alpha.slice(0, -4)}zzzz`, "should never reach a model");
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/unauthorized/i);
    expect(suite.w.fake.requests.length).toBe(before);
    // The refusal on the wire: upstream's error shape, then close 1008.
    const refusal = suite.tap.frames.filter((f) => f.dir === "<" && f.data.includes('"ok":false')).at(-1);
    expect(refusal, suite.tap.transcript()).toBeDefined();
    expect(JSON.parse(refusal!.data).error.code).toBe("INVALID_REQUEST");
    expect(suite.tap.frames.some((f) => f.dir === "close" && f.data.startsWith("gateway closed 1008"))).toBe(true);
  }, 180_000);
});
