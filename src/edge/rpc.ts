// What a tenant JSON-RPC method is, as a module defines it: a name, a params schema (validated before
// the handler runs), a result schema, and a handler given the caller's context. The transport — the
// registry, dispatch and POST /rpc — is the http layer's (http/rpc-*.ts).
import { Type as T, type Static, type TObject, type TProperties, type TSchema } from "@sinclair/typebox";
import type { OpContext } from "./actor.ts";
import type { TenantIdentity } from "./tenant-scope.ts";

export interface RpcContext {
  /**
   * The authenticated tenant: the only tenant any method may act on, bound to the incarnation and
   * token the request was admitted with (the transport re-checks it before each batch item).
   */
  readonly tenant: TenantIdentity;
  /** Who is calling, for audit records. */
  readonly op: OpContext;
  /**
   * A call that named another tenant: NOT_FOUND, the same answer as for a tenant that does not
   * exist (no existence oracle), recorded as a denied attempt and counted against the caller like a
   * failed authentication, so denials cannot flood the audit log.
   */
  refuseOther(named: string, method: string): never;
  /**
   * The WebSocket the call came over (GET /rpc), for the methods that shape what it is told
   * (sessions.subscribe); absent over POST /rpc.
   */
  readonly connection?: RpcConnection;
}

/** What a method may change about the WebSocket connection it was called over. */
export interface RpcConnection {
  /** Adds sessions to the connection's filter; returns the whole filter. */
  subscribe(sessionKeys: readonly string[]): string[];
  /** Removes those sessions (all when omitted: the connection hears every event again); returns what is left. */
  unsubscribe(sessionKeys?: readonly string[]): string[];
  /**
   * Tells this connection alone (a terminal's output): charged to the tenant's byte budget and
   * bounded like every message to it (a client that reads too slowly is closed). False once it ended.
   */
  notify(method: string, params: Record<string, unknown>): boolean;
  /** Bytes of the tenant's byte budget output that can wait (a terminal's) may take now (ws.budget.ts). */
  roomForOutput(): number;
  /** Calls `fn` once when the connection ends (at once if it has); returns the unregister. */
  onClose(fn: () => void): () => void;
}

export interface MethodDef<P extends TSchema = TSchema> {
  name: string;
  summary: string;
  params: P;
  result: TSchema;
  /** True when a `tenantId` param may name a tenant (the isolation suite drives these). */
  tenantScoped: boolean;
  mutates: boolean;
  /**
   * The method writes an audit record (a change to the tenant's state, or a recorded failure): it
   * counts against the tenant's rate of audited changes (gateway.limits.tenantChangesPerMinute),
   * which keeps one tenant from growing the audit log and state.db without bound. A test checks
   * that every method that writes a record declares this. A method that writes one only sometimes
   * (chat.send, when its session is new) gives a test instead, run on the checked params just before
   * the method: a call it says will not write a record does not count.
   */
  audited?: true | ((ctx: RpcContext, params: Static<P>) => boolean);
  /**
   * Only frees space (files.delete): still allowed while the gateway is short of disk space, when
   * every other mutating call of a tenant is refused (README "Disk limits and the reserve").
   */
  freesSpace?: true;
  /**
   * The result holds a secret shown only once (a new token). Such a method is refused as a
   * notification or a batch item without an id — its result would be discarded, and with it the only
   * copy of the secret — and is never run then.
   */
  returnsSecret?: true;
  /** Example params, used by the OpenRPC document and by the generated test suites. */
  example: Static<P>;
  handler(ctx: RpcContext, params: Static<P>): unknown | Promise<unknown>;
}

export function defineMethod<P extends TSchema>(def: MethodDef<P>): MethodDef<P> {
  return def;
}

export const SelfTenantId = T.Optional(T.String({ minLength: 1, maxLength: 64, description: "your own tenant id (the default); any other id is not found" }));

const strict = { additionalProperties: false } as const;

export interface TenantMethodDef<P extends TProperties> {
  name: string;
  summary: string;
  /** The method's own params; `tenantId` is added in front of them. Unknown params are refused. */
  params: P;
  result: TSchema;
  mutates: boolean;
  /** See MethodDef.audited (the test gets the caller's scope and the method's own params). */
  audited?: true | ((tenant: TenantIdentity, params: Static<TObject<P>>) => boolean);
  /** See MethodDef.freesSpace. */
  freesSpace?: true;
  returnsSecret?: true;
  example: Static<TObject<P>>;
  /** Runs for the caller's own scope only: a call naming another tenant never reaches it. */
  handler(tenant: TenantIdentity, params: Static<TObject<P>>, ctx: RpcContext): unknown | Promise<unknown>;
}

/**
 * A method that acts for the calling tenant. Its params take an optional `tenantId`, which may only
 * name the caller: any other id is refused (RpcContext.refuseOther) before the handler runs, and the
 * handler gets the caller's scope, never the id it was sent.
 */
export function defineTenantMethod<P extends TProperties>(def: TenantMethodDef<P>): MethodDef<TObject<{ tenantId: typeof SelfTenantId } & P>> {
  return {
    name: def.name,
    summary: def.summary,
    params: T.Object({ tenantId: SelfTenantId, ...def.params }, strict) as TObject<{ tenantId: typeof SelfTenantId } & P>,
    result: def.result,
    tenantScoped: true,
    mutates: def.mutates,
    ...(def.audited === true ? { audited: true as const } : {}),
    ...(typeof def.audited === "function"
      ? {
          audited: (ctx: RpcContext, params: Record<string, unknown>) => {
            const { tenantId: _named, ...own } = params;
            return (def.audited as (t: TenantIdentity, p: Static<TObject<P>>) => boolean)(ctx.tenant, own as Static<TObject<P>>);
          },
        }
      : {}),
    ...(def.freesSpace ? { freesSpace: true as const } : {}),
    ...(def.returnsSecret ? { returnsSecret: true as const } : {}),
    example: def.example as never,
    handler(ctx, params) {
      const { tenantId, ...own } = params as { tenantId?: string } & Record<string, unknown>;
      if (tenantId !== undefined && tenantId !== ctx.tenant.tenantId) ctx.refuseOther(tenantId, def.name);
      return def.handler(ctx.tenant, own as Static<TObject<P>>, ctx);
    },
  };
}
