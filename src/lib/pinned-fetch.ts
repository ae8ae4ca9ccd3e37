// A fetch that goes only where the egress policy allows (lib/egress-dial.ts): each request's URL is
// vetted afresh — the allow-list, then every address its name resolves to — and the connection goes to
// the vetted address (node:http with a pinned lookup; TLS still checks the name). Redirects are never
// followed (a 3xx is returned as it is), and a response body longer than `maxResponseBytes` is cut
// with an error, so a hostile server can neither steer the gateway elsewhere nor fill its memory.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { pinnedLookup, vetDestination, type Lookup } from "./egress-dial.ts";

export interface PinnedFetchOptions {
  /** Read at each request (the admin's list may change). */
  policy(): { allow: readonly string[]; listName: string; allowPrivate: readonly string[] | undefined };
  lookup?: Lookup;
  maxResponseBytes: number;
  /** No answer (headers) within this: the request fails. */
  timeoutMs: number;
}

export class EgressRefused extends Error {}

function headersOf(init: RequestInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

export function pinnedFetch(opts: PinnedFetchOptions) {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const p = opts.policy();
    const checked = await vetDestination(url, { allow: p.allow, listName: p.listName, allowPrivate: p.allowPrivate, lookup: opts.lookup });
    if ("error" in checked) throw new EgressRefused(checked.error);
    const target = checked.target;
    const body = init?.body === undefined || init.body === null ? undefined : typeof init.body === "string" ? init.body : Buffer.from(await new Response(init.body).arrayBuffer());
    const signal = init?.signal ?? undefined;
    const lib = url.protocol === "https:" ? https : http;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new DOMException("aborted", "AbortError"));
      const req = lib.request({
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: target.port,
        path: `${url.pathname}${url.search}`,
        method: init?.method ?? "GET",
        headers: { ...headersOf(init), ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) },
        lookup: pinnedLookup(target),
        ...(url.protocol === "https:" && !net.isIP(target.host) ? { servername: target.host } : {}),
      } as http.RequestOptions);
      const timer = setTimeout(() => req.destroy(new Error(`no answer from ${target.host} within ${opts.timeoutMs / 1000} s`)), opts.timeoutMs);
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException("aborted", "AbortError"));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (e) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      });
      req.on("response", (res) => {
        clearTimeout(timer);
        let seen = 0;
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            res.on("data", (chunk: Buffer) => {
              seen += chunk.length;
              if (seen > opts.maxResponseBytes) {
                controller.error(new Error(`the answer from ${target.host} is longer than ${opts.maxResponseBytes} bytes`));
                res.destroy();
                return;
              }
              controller.enqueue(new Uint8Array(chunk));
            });
            res.on("end", () => {
              signal?.removeEventListener("abort", onAbort);
              try {
                controller.close();
              } catch {
                // already errored
              }
            });
            res.on("error", (e) => {
              try {
                controller.error(e);
              } catch {
                // already closed
              }
            });
          },
          cancel() {
            res.destroy();
          },
        });
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
        const status = res.statusCode ?? 502;
        resolve(new Response(status === 204 || status === 304 ? null : stream, { status, statusText: res.statusMessage, headers }));
      });
      req.end(body);
    });
  };
}
