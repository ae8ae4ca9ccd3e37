// The `connect` request's params, as upstream's closed ConnectParamsSchema has them (unknown fields,
// client ids and modes are refused), with upstream's error text; and the protocol negotiation.
// Strings and arrays are bounded besides: the frame cap bounds the whole, these bound the work.
import { Type as T, type Static, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type ValueError } from "@sinclair/typebox/compiler";
import { ValueErrorType } from "@sinclair/typebox/errors";
import type { Scope } from "./methods.ts";

export const PROTOCOL_VERSION = 4;

export const CLIENT_IDS = ["webchat-ui", "openclaw-control-ui", "openclaw-browser-copilot", "openclaw-tui", "webchat", "cli", "gateway-client", "openclaw-macos", "openclaw-linux", "openclaw-ios", "openclaw-watchos", "openclaw-android", "node-host", "openclaw-worker", "test", "fingerprint", "openclaw-probe"] as const;
export const CLIENT_MODES = ["webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"] as const;

const MAX_STR = 4096;
const Str = (o: { maxLength?: number } = {}) => T.String({ minLength: 1, maxLength: o.maxLength ?? MAX_STR });
const AnyStr = T.String({ maxLength: MAX_STR });
const closed = <P extends Record<string, TSchema>>(props: P) => T.Object(props, { additionalProperties: false });
const Strs = T.Array(Str({ maxLength: 256 }), { maxItems: 256 });

const ConnectParams = closed({
  minProtocol: T.Integer({ minimum: 1 }),
  maxProtocol: T.Integer({ minimum: 1 }),
  client: closed({
    id: T.Union(CLIENT_IDS.map((id) => T.Literal(id))),
    displayName: T.Optional(Str()),
    version: Str(),
    buildId: T.Optional(Str({ maxLength: 96 })),
    platform: Str(),
    deviceFamily: T.Optional(Str()),
    modelIdentifier: T.Optional(Str()),
    timeZone: T.Optional(Str({ maxLength: 64 })),
    mode: T.Union(CLIENT_MODES.map((m) => T.Literal(m))),
    instanceId: T.Optional(Str()),
  }),
  caps: T.Optional(Strs),
  commands: T.Optional(Strs),
  computerUse: T.Optional(T.Unknown()),
  workerRuns: T.Optional(T.Unknown()),
  permissions: T.Optional(T.Record(T.String({ minLength: 1, maxLength: 256 }), T.Boolean())),
  pathEnv: T.Optional(AnyStr),
  role: T.Optional(Str({ maxLength: 64 })),
  scopes: T.Optional(Strs),
  modelCatalog: T.Optional(
    T.Union([closed({ agentId: T.Optional(Str()), sessionKey: T.Optional(Str()) }), closed({ agentId: T.Optional(Str()), shortId: Str(), slugHint: T.Optional(Str()) })]),
  ),
  device: T.Optional(closed({ id: Str(), publicKey: Str(), signature: Str(), signedAt: T.Integer({ minimum: 0 }), nonce: Str() })),
  auth: T.Optional(
    closed({
      token: T.Optional(AnyStr),
      bootstrapToken: T.Optional(AnyStr),
      deviceToken: T.Optional(AnyStr),
      password: T.Optional(AnyStr),
      approvalRuntimeToken: T.Optional(AnyStr),
      agentRuntimeIdentityToken: T.Optional(AnyStr),
    }),
  ),
  locale: T.Optional(AnyStr),
  userAgent: T.Optional(AnyStr),
});

export type ConnectParams = Static<typeof ConnectParams>;
const check = TypeCompiler.Compile(ConnectParams);

/** The AJV-style sentence upstream's clients see, for the first thing wrong. */
function describe(e: ValueError): string {
  const at = e.path === "" ? "" : ` at ${e.path}`;
  switch (e.type) {
    case ValueErrorType.Union:
      return `invalid connect params:${at}: must be equal to one of the allowed values`;
    case ValueErrorType.ObjectAdditionalProperties:
      return `invalid connect params:${at || " at <root>"}: must NOT have additional properties`;
    case ValueErrorType.ObjectRequiredProperty:
      return `invalid connect params: must have required property '${e.path.split("/").pop()}'`;
    default:
      return `invalid connect params:${at}: ${e.message.replace(/^Expected/, "must be")}`;
  }
}

/** The params if they fit the schema, else the message to refuse them with. */
export function parseConnectParams(params: unknown): { ok: true; params: ConnectParams } | { ok: false; message: string } {
  if (check.Check(params)) return { ok: true, params };
  const first = check.Errors(params).First();
  return { ok: false, message: first ? describe(first) : "invalid connect params" };
}

/** Protocol 4 only (every current client asks for exactly 4..4): the details upstream sends on a mismatch. */
export function protocolMismatch(p: ConnectParams): Record<string, unknown> | null {
  if (p.minProtocol <= PROTOCOL_VERSION && p.maxProtocol >= PROTOCOL_VERSION) return null;
  return { code: "PROTOCOL_MISMATCH", clientMinProtocol: p.minProtocol, clientMaxProtocol: p.maxProtocol, expectedProtocol: PROTOCOL_VERSION, minimumProbeProtocol: 3 };
}

/** The scopes a tenant connection may hold: never admin (or approvals, pairing …) — its own reads and writes. */
export const GRANTABLE = ["operator.read", "operator.write"] as const;

/**
 * Requested ∩ grantable, exactly what hello-ok reports. `operator.admin` is clamped, not dropped: it
 * implies read and write in upstream's model, and upstream's CLI asks for it alone for its cron
 * writes (`openclaw cron add`), so a tenant's connection asking for it gets the most a tenant may
 * have — its own reads and writes — and never admin itself. The other scopes (approvals, pairing …)
 * are dropped.
 */
export function grantScopes(requested: readonly string[] | undefined): Scope[] {
  const asked = new Set(requested ?? []);
  const admin = asked.has("operator.admin");
  return GRANTABLE.filter((s) => admin || asked.has(s));
}

/** As upstream authorizes: a read method is allowed by read or write, a write method by write. */
export function scopeSatisfied(needed: Scope, granted: readonly Scope[]): boolean {
  return granted.includes(needed) || (needed === "operator.read" && granted.includes("operator.write"));
}
