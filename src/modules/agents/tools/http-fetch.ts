// http_fetch: one HTTP(S) request, made by curl inside the tenant's sandbox as the "http_fetch" tool,
// so the sandbox's egress proxy decides it exactly as for any sandboxed program: the tool's allow-list
// (admin ceiling ∩ tenant overlay) before any DNS, every resolved address refused if private,
// loopback, link-local or metadata (unless the admin's allowPrivate names it), only the vetted address
// dialled (what was checked is what is used), TLS only with the checked name as SNI. Redirects are
// followed by curl through the same proxy, so every hop is checked again. The response is cut at the
// agent's cap (the download stops there).
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../../core/errors.ts";
import { capText, defineTool, fail, looksBinary } from "./common.ts";

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 3;
const MAX_HEADER_BYTES = 64 * 1024;
const STATUS_MARK = "\nopenclaw-fetch-status:";
const REFUSED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "expect", "keep-alive", "trailer"]);

export const httpFetchTool = defineTool({
  name: "http_fetch",
  description:
    "Fetches a URL (http or https) from the tenant's sandbox, within the tenant's http_fetch egress allow-list; private and local addresses are refused. Follows up to 3 redirects (each checked). Returns the status, headers and body (text; cut when long).",
  parameters: T.Object(
    {
      url: T.String({ minLength: 1, maxLength: 8192, description: "absolute http:// or https:// URL" }),
      method: T.Optional(T.Union([T.Literal("GET"), T.Literal("HEAD"), T.Literal("POST")], { default: "GET" })),
      headers: T.Optional(
        T.Record(T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$" }), T.String({ maxLength: 4096, pattern: "^[^\\r\\n\\u0000]*$" }), { maxProperties: 32 }),
      ),
      body: T.Optional(T.String({ maxLength: MAX_BODY_BYTES, description: "request body (POST)" })),
    },
    { additionalProperties: false },
  ),
  async run(args, ctx) {
    let url: URL;
    try {
      url = new URL(args.url);
    } catch {
      return fail("INVALID_PARAMS: url is not an absolute URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return fail(`INVALID_PARAMS: only http and https URLs can be fetched, not ${url.protocol}`);
    if (url.username || url.password) return fail("INVALID_PARAMS: credentials in the URL are not allowed; send an Authorization header");
    const method = args.method ?? "GET";
    if (args.body !== undefined && method !== "POST") return fail("INVALID_PARAMS: a body is sent only with POST");
    // -q first: curl reads no config file (HOME is /work, so a .curlrc there would be the tenant's).
    // -g: no URL globbing ([1-1000] in a URL would otherwise be a thousand requests).
    const curl = ["-q", "-g", "-sS", "-L", "--max-redirs", String(MAX_REDIRECTS), "--proto", "=http,https", "--proto-redir", "=http,https", "--suppress-connect-headers", "-D", "-"];
    for (const [name, value] of Object.entries(args.headers ?? {})) {
      const lower = name.toLowerCase();
      if (REFUSED_HEADERS.has(lower) || lower.startsWith("proxy-")) return fail(`INVALID_PARAMS: header ${name} is set by the gateway`);
      curl.push("-H", value === "" ? `${name};` : `${name}: ${value}`);
    }
    if (method === "HEAD") curl.push("-I");
    if (method === "POST") curl.push("--data-binary", "@-");
    const left = Math.floor(ctx.secondsLeft);
    const limit = ctx.services.sandbox.info(ctx.tenant).limits.timeoutSeconds;
    const runSeconds = Math.min(left, limit, 60);
    if (runSeconds < 3) return fail("UNAVAILABLE: not enough time is left in this turn for a fetch");
    curl.push("--max-time", String(runSeconds - 2), "-w", `%{stderr}${STATUS_MARK} %{http_code} %{num_redirects} %{url_effective}\\n`, url.href);
    const cap = Math.min(MAX_BODY_BYTES, ctx.maxOutputBytes);
    // stdout is each response's headers (-D -), then the last body: room for the headers, then the cap.
    const r = await ctx.services.sandbox.run({
      tenant: ctx.tenant,
      // The body is cut by head at cap+1 bytes: curl stops when the pipe closes. curl's arguments stay in "$@".
      command: ["/bin/sh", "-c", `command -v curl >/dev/null || { echo "openclaw: curl is not installed in this sandbox" >&2; exit 127; }; curl "$@" | head -c ${MAX_HEADER_BYTES + cap + 1}`, "sh", ...curl],
      stdin: method === "POST" ? Buffer.from(args.body ?? "", "utf8") : null,
      timeoutSeconds: runSeconds,
      mode: ctx.sandboxMode,
      tool: "http_fetch",
      encoding: "base64",
      signal: ctx.signal,
      token: ctx.token,
      origin: "rpc",
    });
    return describeResponse(r, cap, method, ctx.maxOutputBytes);
  },
});

function describeResponse(r: Awaited<ReturnType<import("../../sandbox/sandbox.service.ts").SandboxService["run"]>>, cap: number, method: string, maxBytes: number) {
  const stderr = Buffer.from(r.stderr, "base64").toString("utf8");
  const body = Buffer.from(r.stdout, "base64");
  if (r.killedReason) return fail(`UPSTREAM_TIMEOUT: the fetch was stopped (${r.killedReason})`);
  const at = stderr.lastIndexOf(STATUS_MARK);
  const tail = at >= 0 ? stderr.slice(at + STATUS_MARK.length).trim().split(" ") : [];
  const status = Number(tail[0] ?? "0");
  const redirects = Number(tail[1] ?? "0");
  const finalUrl = tail.slice(2).join(" ");
  const before = at >= 0 ? stderr.slice(0, at) : stderr;
  const curlError = before.split("\n").find((l) => l.startsWith("curl: ("));
  if (/curl is not installed/.test(before)) throw new AppError("UNAVAILABLE", "http_fetch needs curl inside the sandbox, and this sandbox has none (docker mode: build the image with curl included)");
  if (!status) {
    const why = curlError ?? before.trim().split("\n").at(-1) ?? `exit code ${r.exitCode}`;
    const refused = /CONNECT tunnel failed, response 403|403/.test(why) ? " (refused by the egress policy: the host is not in the http_fetch allow-list, or resolves to a private or local address)" : "";
    return fail(`UPSTREAM_ERROR: the request failed: ${why.slice(0, 500)}${refused}`);
  }
  // stdout: the header block of each response in turn (1xx ones too), then the last one's body.
  let pos = 0;
  let headerText = "";
  let finals = 0;
  while (finals < redirects + 1) {
    const end = body.indexOf("\r\n\r\n", pos);
    if (end < 0 || !body.subarray(pos, pos + 5).equals(Buffer.from("HTTP/"))) break;
    const block = body.subarray(pos, end).toString("latin1");
    pos = end + 4;
    if (/^HTTP\/\S+ 1\d\d/.test(block)) continue;
    finals++;
    headerText = block.split("\r\n").slice(1).join("\n");
  }
  const payload = body.subarray(pos);
  const head = capText(headerText, 4096);
  const hop = redirects > 0 ? ` after ${redirects} redirect(s), from ${finalUrl}` : "";
  let text = `HTTP ${status}${hop}\n${head.text}${head.truncated ? "\n[headers truncated]" : ""}\n\n`;
  let truncated = head.truncated;
  if (method !== "HEAD") {
    const cut = payload.length > cap;
    const shown = cut ? payload.subarray(0, cap) : payload;
    if (shown.length > 0 && looksBinary(shown)) text += `[binary body, ${cut ? `more than ${cap}` : shown.length} bytes; not shown]`;
    else text += new TextDecoder().decode(shown);
    if (cut || r.stdoutTruncated) {
      text += `\n[output truncated: the body is longer than ${cap} bytes; the rest was not downloaded]`;
      truncated = true;
    }
  }
  if (curlError && !/\(23\)/.test(curlError)) text += `\n[${curlError.slice(0, 300)}]`;
  // A refusal from the egress proxy on a plain-http hop comes back as its own 403/502 answer.
  const isError = status >= 400 || (curlError !== undefined && !/\(23\)/.test(curlError));
  return { content: capText(text, maxBytes).text, isError, truncated: truncated || Buffer.byteLength(text) > maxBytes };
}
