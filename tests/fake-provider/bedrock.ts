// A stand-in for Amazon Bedrock's runtime: `POST /model/<modelId>/converse` (JSON) and
// `/converse-stream` (the AWS event-stream binary framing, encoded with the SDK's own codec). Every
// request's SigV4 signature is recomputed from the configured keys and refused (403, as AWS does) when
// it does not match, so the test proves the gateway signs with the keys in its config. It refuses what
// Converse refuses about the body (unknown fields, turns that do not alternate from the user, tool
// uses or results without toolConfig, a toolResult answering no toolUse of the turn before).
import { createHash, createHmac } from "node:crypto";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { SignatureV4 } from "@smithy/signature-v4";
import { plan } from "./fake-provider.ts";
import { sleep, startStandIn, words, type StandIn, type StandInRequest } from "./stand-in.ts";

export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

class Sha256 {
  private h;
  constructor(secret?: string | Uint8Array) {
    this.h = secret ? createHmac("sha256", secret) : createHash("sha256");
  }
  update(d: string | Uint8Array): void {
    this.h.update(d);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

const awsError = (status: number, type: string, message: string) => new Response(JSON.stringify({ message }), { status, headers: { "content-type": "application/json", "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` } });

const ERRORS: Record<number, string> = { 400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException", 408: "ModelTimeoutException", 429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException" };

/** The signature the keys give this request (null: not a SigV4 request for these keys' scope). */
async function signatureProblem(req: StandInRequest, port: number, keys: AwsKeys): Promise<string | null> {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? "");
  if (!auth) return "missing or malformed SigV4 authorization";
  const [, akid, , region, service, signed, signature] = auth;
  if (akid !== keys.accessKeyId) return "The security token included in the request is invalid.";
  if (region !== keys.region || service !== "bedrock") return `credential scope ${region}/${service} is not ${keys.region}/bedrock`;
  if (keys.sessionToken && req.headers["x-amz-security-token"] !== keys.sessionToken) return "The security token included in the request is invalid.";
  const headers: Record<string, string> = {};
  for (const h of signed!.split(";")) headers[h] = h === "host" ? `127.0.0.1:${port}` : (req.headers[h] ?? "");
  const d = req.headers["x-amz-date"] ?? "";
  const date = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
  const signer = new SignatureV4({ service: "bedrock", region: keys.region, credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken }, sha256: Sha256 as never, uriEscapePath: true });
  const again = await signer.sign({ method: req.method, protocol: "http:", hostname: "127.0.0.1", port, path: req.path, query: Object.fromEntries(req.query), headers, body: req.raw } as never, { signingDate: date });
  const want = /Signature=([0-9a-f]{64})/.exec((again as unknown as { headers: Record<string, string> }).headers.authorization ?? "")?.[1];
  return want === signature ? null : "The request signature we calculated does not match the signature you provided.";
}

const TOP = new Set(["messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields", "promptVariables", "additionalModelResponseFieldPaths", "requestMetadata", "performanceConfig"]);
const BLOCK = new Set(["text", "image", "toolUse", "toolResult", "document", "video", "reasoningContent", "cachePoint", "guardContent"]);

function contractError(body: any): string | null {
  for (const k of Object.keys(body)) if (!TOP.has(k)) return `Malformed input request: extraneous key [${k}] is not permitted`;
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages: must not be empty";
  let open: string[] = [];
  for (const [i, m] of body.messages.entries()) {
    if (m.role !== (i % 2 === 0 ? "user" : "assistant")) return `A conversation must alternate between user and assistant roles (messages.${i})`;
    for (const b of m.content ?? []) {
      const keys = Object.keys(b);
      if (keys.length !== 1 || !BLOCK.has(keys[0]!)) return `messages.${i}: a content block holds exactly one member`;
      if ((b.toolUse || b.toolResult) && !body.toolConfig) return "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
      if (b.image && (!["png", "jpeg", "gif", "webp"].includes(b.image.format) || typeof b.image.source?.bytes !== "string")) return `messages.${i}: bad image block`;
    }
    if (m.role === "user") {
      const results = m.content.filter((b: any) => b.toolResult).map((b: any) => b.toolResult.toolUseId);
      if (open.length !== results.length || open.some((id) => !results.includes(id))) return `messages.${i}: the toolResult blocks must answer the toolUse blocks of the previous turn`;
      open = [];
    } else open = m.content.filter((b: any) => b.toolUse).map((b: any) => b.toolUse.toolUseId);
  }
  if (typeof body.inferenceConfig?.maxTokens !== "number") return "inferenceConfig.maxTokens is required by this stand-in";
  return null;
}

const codec = new EventStreamCodec((b) => new TextDecoder().decode(b), (s) => new TextEncoder().encode(s));
const frame = (type: string, payload: unknown, kind: "event" | "exception" = "event") =>
  codec.encode({
    headers: {
      ":message-type": { type: "string", value: kind },
      [kind === "event" ? ":event-type" : ":exception-type"]: { type: "string", value: type },
      ":content-type": { type: "string", value: "application/json" },
    },
    body: new TextEncoder().encode(JSON.stringify(payload)),
  });

export function startBedrockFake(keys: AwsKeys): StandIn {
  let port = 0;
  const fake = startStandIn(async (req, signal) => {
    const m = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(req.path);
    if (req.method !== "POST" || !m) return awsError(404, "UnknownOperationException", `no operation at ${req.path}`);
    const problem = await signatureProblem(req, port, keys);
    if (problem) return awsError(403, problem.startsWith("The security token") ? "UnrecognizedClientException" : "InvalidSignatureException", problem);
    if (!req.body) return awsError(400, "ValidationException", "body is not JSON");
    const broken = contractError(req.body);
    if (broken) return awsError(400, "ValidationException", broken);
    const body = req.body;
    const p = plan({ system: (body.system ?? []).map((s: any) => s.text ?? "").join(" "), messages: body.messages }, body.inferenceConfig.maxTokens);
    if (p.error) return awsError(p.error, ERRORS[p.error] ?? "InternalServerException", `fake provider error ${p.error}`);
    const out = p.tools ? 12 : p.words;
    const usage = { inputTokens: p.promptTokens, outputTokens: out, totalTokens: p.promptTokens + out + p.cacheRead + p.cacheWrite, ...(p.cacheRead || p.cacheWrite ? { cacheReadInputTokens: p.cacheRead, cacheWriteInputTokens: p.cacheWrite } : {}) };
    const stopReason = p.tools ? "tool_use" : p.words < 5 && body.inferenceConfig.maxTokens <= p.words ? "max_tokens" : "end_turn";
    const toolUse = { toolUseId: "tooluse_fake1", name: "get_weather", input: { city: "Paris" } };
    const requestId = crypto.randomUUID();
    if (m[2] === "converse") {
      if (p.hang) return new Promise<Response>(() => {});
      await sleep(p.slowMs);
      const content = p.tools ? [{ text: "Checking." }, { toolUse }] : [{ text: words(p.words).join(" ") }];
      return Response.json({ output: { message: { role: "assistant", content } }, stopReason, ...(p.noUsage ? {} : { usage }), metrics: { latencyMs: 1 } }, { headers: { "x-amzn-requestid": requestId } });
    }
    const frames = async function* () {
      if (p.hang) await new Promise(() => {});
      yield frame("messageStart", { role: "assistant" });
      if (p.tools) {
        yield frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Checking." } });
        yield frame("contentBlockStop", { contentBlockIndex: 0 });
        yield frame("contentBlockStart", { contentBlockIndex: 1, start: { toolUse: { toolUseId: toolUse.toolUseId, name: toolUse.name } } });
        yield frame("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } });
        yield frame("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '"Paris"}' } } });
        yield frame("contentBlockStop", { contentBlockIndex: 1 });
      } else {
        for (let i = 0; i < p.words; i++) {
          await sleep(p.midstreamFail ? Math.max(p.slowMs, 30) : p.slowMs);
          if (p.midstreamFail && i === 2) {
            yield frame("modelStreamErrorException", { message: "fake stream failure", originalStatusCode: 500 }, "exception");
            return;
          }
          yield frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: `${i ? " " : ""}w${i}` } });
        }
        yield frame("contentBlockStop", { contentBlockIndex: 0 });
      }
      yield frame("messageStop", { stopReason });
      if (!p.noUsage) yield frame("metadata", { usage, metrics: { latencyMs: 1 } });
    };
    const it = frames();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (signal.aborted) return controller.close();
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      cancel() {
        void it.return(undefined);
      },
    });
    return new Response(stream, { headers: { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": requestId } });
  });
  port = fake.port;
  return fake;
}
