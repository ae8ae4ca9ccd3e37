// The served OpenAPI document, finished from what @elysiajs/swagger generates out of the routes: OpenAPI
// 3.1 (the schemas are TypeBox's JSON Schema, which 3.0 cannot express), JSON content only (the edge
// accepts and sends nothing else there), a description on every response, and the error responses each
// operation can return, sharing one error schema. The errors are derived from the operation itself —
// admin key → 401 and 429 (the auth throttle), parameters or a body → 400, a body → 413 and 415, a path
// parameter → 404 — plus the codes a route declares (`routeDoc`, edge/route-doc.ts: e.g. CONFLICT for
// a create). A new route gets all of this by being mounted; tests/http/openapi.test.ts validates it.
import { ERROR_TABLE, type ErrorCode } from "../core/errors.ts";

type Json = Record<string, any>;

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No content",
  400: "The request is invalid: a parameter or the body fails validation (the message names it)",
  401: "Missing or invalid credentials",
  403: "Forbidden",
  404: "No such resource (or not one the caller may see)",
  405: "Method not allowed",
  409: "Conflicts with the current state (e.g. the id is taken)",
  413: "The request body is larger than this route accepts",
  415: "The request body is not application/json",
  429: "Too many requests or failed authentications; see Retry-After",
  431: "The request headers are too large",
  500: "Internal error",
  502: "The upstream service failed",
  503: "Temporarily unavailable; see Retry-After",
  504: "The upstream service timed out",
};

const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", enum: Object.keys(ERROR_TABLE), description: "one of the gateway's error codes" },
        message: { type: "string", description: "what went wrong, safe to show" },
        requestId: { type: "string", description: "the request's id (also the x-request-id header); absent on 401" },
        details: { type: "object", additionalProperties: true, description: "structured facts about the error, when there are any" },
      },
    },
  },
} as const;

const responseName = (status: number) => `Error${status}`;

/** Finishes a generated document in place and returns it. */
export function finishOpenApi(doc: Json): Json {
  doc.openapi = "3.1.0";
  doc.components ??= {};
  doc.components.schemas = { ...(doc.components.schemas ?? {}), Error: ERROR_SCHEMA };
  const used = new Set<number>();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const op of Object.values<Json>(item)) {
      if (!op || typeof op !== "object" || !op.responses) continue;
      finishOperation(path, op, used);
    }
  }
  doc.components.responses = Object.fromEntries(
    [...used].sort().map((s) => [responseName(s), { description: STATUS_TEXT[s] ?? `HTTP ${s}`, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }]),
  );
  return doc;
}

function jsonOnly(content: Json | undefined): Json | undefined {
  if (!content) return content;
  const json = content["application/json"];
  return json ? { "application/json": json } : content;
}

function finishOperation(path: string, op: Json, used: Set<number>): void {
  for (const [status, res] of Object.entries<Json>(op.responses)) {
    if (res.$ref) continue;
    res.description ??= STATUS_TEXT[Number(status)] ?? op.summary ?? `HTTP ${status}`;
    if (res.content) res.content = jsonOnly(res.content);
  }
  if (op.requestBody?.content) op.requestBody.content = jsonOnly(op.requestBody.content);
  const errors = new Set<number>();
  const secured = Array.isArray(op.security) && op.security.length > 0;
  if (secured) errors.add(401).add(429);
  if ((op.parameters?.length ?? 0) > 0 || op.requestBody) errors.add(400);
  if (op.requestBody) errors.add(413).add(415);
  if (/\{[^}]+\}/.test(path)) errors.add(404);
  for (const code of (op["x-errors"] ?? []) as ErrorCode[]) errors.add(ERROR_TABLE[code].http);
  delete op["x-errors"];
  for (const status of errors) {
    if (op.responses[status]) continue;
    op.responses[status] = { $ref: `#/components/responses/${responseName(status)}` };
    used.add(status);
  }
}
