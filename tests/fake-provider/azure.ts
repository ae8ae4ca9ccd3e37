// A stand-in for Azure OpenAI: OpenAI's chat completions wire (the fake provider's answers and
// directives) served only at `/openai/deployments/<deployment>/chat/completions`, only for the
// configured `api-version` and `api-key` header (a Bearer token is refused, as Azure refuses a key it
// does not expect), with Azure's content-filter preamble chunk (`choices: []`) first in streams.
import { openAi } from "./fake-provider.ts";
import { startStandIn, type StandIn } from "./stand-in.ts";

const azureError = (status: number, code: string, message: string) => Response.json({ error: { code, message } }, { status });

const enc = new TextEncoder();
const PREAMBLE = `data: ${JSON.stringify({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: "safe" } } }] })}\n\n`;

export function startAzureFake(opts: { apiKey: string; apiVersion: string }): StandIn {
  return startStandIn(async (req, signal) => {
    const m = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(req.path);
    if (req.method !== "POST" || !m) return azureError(404, "404", "Resource not found");
    if (req.query.get("api-version") !== opts.apiVersion) return azureError(400, "BadRequest", `API version not supported: ${req.query.get("api-version")}`);
    if (req.headers["api-key"] !== opts.apiKey) return azureError(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.");
    if (!req.body) return azureError(400, "BadRequest", "invalid JSON");
    // Azure answers with the deployment's model, whatever the body's `model` says.
    const res = await openAi({ ...req.body, model: decodeURIComponent(m[1]!) }, signal);
    if (!req.body.stream || !res.ok || !res.body) return res;
    const upstream = res.body.getReader();
    let first = true;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (first) {
          first = false;
          return controller.enqueue(enc.encode(PREAMBLE));
        }
        try {
          const r = await upstream.read();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (err) {
          controller.error(err);
        }
      },
      cancel: () => upstream.cancel(),
    });
    return new Response(body, { headers: res.headers });
  });
}
