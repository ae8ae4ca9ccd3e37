// A stand-in for the Gemini API: `POST /v1beta/models/<model>:generateContent` (JSON) and
// `:streamGenerateContent?alt=sse` (SSE of partial responses, cumulative usageMetadata on each), the
// key in `x-goog-api-key`, Google's error envelope. It refuses what Gemini refuses about the body
// (unknown fields, roles other than user/model, empty parts, a functionResponse answering no call of
// the turn before), so a translation that breaks the contract fails here. Besides the fake provider's
// directives: [[thoughts:N]] reports N thinking tokens; [[blocked]] blocks the prompt (no candidates).
import { plan, sse } from "./fake-provider.ts";
import { sleep, startStandIn, words, type StandIn } from "./stand-in.ts";

const STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" };
const googleError = (code: number, message: string) => Response.json({ error: { code, message, status: STATUS[code] ?? "UNKNOWN" } }, { status: code });

const TOP = new Set(["contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent"]);
const GEN = new Set(["maxOutputTokens", "temperature", "topP", "topK", "stopSequences", "candidateCount", "seed", "presencePenalty", "frequencyPenalty", "responseMimeType", "responseJsonSchema", "responseSchema", "thinkingConfig"]);
const PART = new Set(["text", "inlineData", "functionCall", "functionResponse", "fileData"]);

function contractError(body: any): string | null {
  for (const k of Object.keys(body)) if (!TOP.has(k)) return `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`;
  for (const k of Object.keys(body.generationConfig ?? {})) if (!GEN.has(k)) return `Invalid JSON payload received. Unknown name "${k}" at 'generation_config': Cannot find field.`;
  if (!Array.isArray(body.contents) || body.contents.length === 0) return "* GenerateContentRequest.contents: contents is not specified";
  let calls: string[] = [];
  for (const [i, c] of body.contents.entries()) {
    if (c.role !== "user" && c.role !== "model") return `contents[${i}].role: must be user or model`;
    if (!Array.isArray(c.parts) || c.parts.length === 0) return `contents[${i}].parts: must not be empty`;
    for (const p of c.parts) {
      const keys = Object.keys(p).filter((k) => PART.has(k));
      if (keys.length !== 1 || Object.keys(p).length !== 1) return `contents[${i}].parts: each part holds exactly one of ${[...PART].join(", ")}`;
      if (p.functionResponse && !calls.includes(p.functionResponse.name)) return `contents[${i}]: functionResponse ${JSON.stringify(p.functionResponse.name)} answers no functionCall of the turn before`;
    }
    calls = c.role === "model" ? c.parts.filter((p: any) => p.functionCall).map((p: any) => p.functionCall.name) : [];
  }
  for (const t of body.tools ?? []) for (const f of t.functionDeclarations ?? []) if (!/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/.test(f.name)) return `tools: bad function name ${f.name}`;
  return null;
}

export function startGeminiFake(opts: { apiKey: string }): StandIn {
  return startStandIn(async (req, signal, url) => {
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(req.path);
    if (req.method !== "POST" || !m) return googleError(404, `Requested entity was not found: ${req.path}`);
    if (req.headers["x-goog-api-key"] !== opts.apiKey) return googleError(400, "API key not valid. Please pass a valid API key.");
    if (!req.body) return googleError(400, "Invalid JSON payload received.");
    const broken = contractError(req.body);
    if (broken) return googleError(400, broken);
    const stream = m[2] === "streamGenerateContent";
    if (stream && url.searchParams.get("alt") !== "sse") return googleError(400, "this stand-in streams SSE only (alt=sse)");
    const body = req.body;
    const sys = (body.systemInstruction?.parts ?? []).map((p: any) => p.text ?? "").join(" ");
    const p = plan({ system: sys, messages: body.contents.map((c: any) => ({ role: c.role === "model" ? "assistant" : "user", content: c.parts })) }, body.generationConfig?.maxOutputTokens);
    if (p.error) return googleError(p.error, `fake provider error ${p.error}`);
    const directive = JSON.stringify(body.contents.at(-1));
    const thoughts = Number(/\[\[thoughts:(\d+)\]\]/.exec(directive)?.[1] ?? 0);
    const blocked = directive.includes("[[blocked]]");
    const n = body.generationConfig?.candidateCount ?? 1;
    const responseId = `resp${Math.random().toString(36).slice(2, 10)}`;
    const out = p.tools ? 12 : p.words;
    const usage = (done: number) => ({
      promptTokenCount: p.promptTokens + p.cacheRead,
      candidatesTokenCount: done * n,
      totalTokenCount: p.promptTokens + p.cacheRead + done * n + thoughts,
      ...(p.cacheRead ? { cachedContentTokenCount: p.cacheRead } : {}),
      ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
    });
    const call = { functionCall: { name: "get_weather", args: { city: "Paris" } } };
    const finish = p.words < 5 && body.generationConfig?.maxOutputTokens <= p.words ? "MAX_TOKENS" : "STOP";
    const cands = (parts: any[], finishReason?: string) => Array.from({ length: n }, (_, index) => ({ content: { role: "model", parts }, ...(finishReason ? { finishReason } : {}), index }));
    if (!stream) {
      if (p.hang) return new Promise<Response>(() => {});
      await sleep(p.slowMs);
      if (blocked) return Response.json({ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: usage(0), responseId });
      const parts = p.tools ? [{ text: "Checking." }, call] : [{ text: words(p.words).join(" ") }];
      return Response.json({ candidates: cands(parts, finish), ...(p.noUsage ? {} : { usageMetadata: usage(out) }), modelVersion: m[1], responseId });
    }
    const data = (x: unknown) => `data: ${JSON.stringify(x)}\r\n\r\n`;
    return sse(async function* () {
      if (p.hang) await new Promise(() => {});
      if (blocked) return void (yield data({ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: usage(0), responseId }));
      if (p.tools) {
        yield data({ candidates: cands([{ text: "Checking." }]), usageMetadata: usage(2), responseId });
        yield data({ candidates: cands([call], "STOP"), usageMetadata: usage(out), responseId });
        return;
      }
      for (let i = 0; i < p.words; i++) {
        await sleep(p.midstreamFail ? Math.max(p.slowMs, 30) : p.slowMs);
        if (p.midstreamFail && i === 2) throw new Error("midstream failure");
        const last = i === p.words - 1;
        yield data({ candidates: cands([{ text: `${i ? " " : ""}w${i}` }], last ? finish : undefined), ...(p.noUsage ? {} : { usageMetadata: usage(i + 1) }), responseId });
      }
    }, signal);
  });
}
