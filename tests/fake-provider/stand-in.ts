// The server part shared by the stand-ins for the gemini, azure-openai and bedrock wire formats
// (gemini.ts, azure.ts, bedrock.ts): a local HTTP server that records each request — path, query,
// headers, the raw body and its JSON — and answers through the wire format's handler. The directives
// ([[words:N]], [[tools]], [[error:S]], [[midstream-fail]], [[hang]], [[slow:MS]], [[cache:R:W]],
// [[no-usage]]) are the fake provider's own (fake-provider.ts `plan`).

export interface StandInRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  raw: Uint8Array;
  body: any;
  /** Set when the gateway closed the connection before the answer was complete. */
  aborted: boolean;
}

export interface StandIn {
  url: string;
  port: number;
  requests: StandInRequest[];
  last(): StandInRequest;
  stop(): void;
}

export function startStandIn(handle: (req: StandInRequest, signal: AbortSignal, url: URL) => Response | Promise<Response>): StandIn {
  const requests: StandInRequest[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const raw = new Uint8Array(await req.arrayBuffer());
      let body: any = null;
      try {
        body = JSON.parse(new TextDecoder().decode(raw));
      } catch {
        body = null;
      }
      const rec: StandInRequest = { method: req.method, path: url.pathname, query: url.searchParams, headers: Object.fromEntries(req.headers.entries()), raw, body, aborted: false };
      req.signal.addEventListener("abort", () => (rec.aborted = true), { once: true });
      requests.push(rec);
      if (requests.length > 1000) requests.shift();
      return handle(rec, req.signal, url);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    requests,
    last: () => requests[requests.length - 1]!,
    stop: () => server.stop(true),
  };
}

export const sleep = (ms: number) => (ms > 0 ? Bun.sleep(ms) : Promise.resolve());
export const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`);
