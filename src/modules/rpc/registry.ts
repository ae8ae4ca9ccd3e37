// The tenant JSON-RPC method registry. Each method declares its params schema (validated before the
// handler runs), its result schema, and whether it can name a tenant; the registry also renders the
// OpenRPC document. No HTTP here: the dispatcher takes text and a context and returns text.
import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { Actor } from "../audit/audit.record.ts";
import type { Core } from "../../core/core.ts";
import type { TenantScope } from "../tokens/tenant-scope.ts";

export interface RpcContext {
  core: Core;
  /** The authenticated tenant: the only tenant any method may act on. */
  tenantId: string;
  actor: Actor;
  /** The identity the request authenticated as; the dispatcher re-checks it before every item. */
  scope: TenantScope;
  requestId: string;
  clientRequestId?: string;
  ip?: string;
  /**
   * Denied attempts (naming another tenant) count like failed authentication: after too many from
   * one client the caller is throttled, so denials cannot be used to flood the audit log.
   */
  denials?: { blocked(): { retryAfterSeconds: number } | null; count(): void };
  /**
   * Takes one of the tenant's audited changes (a token bucket): null when granted, else the seconds
   * until the next one. Asked by the dispatcher before every method that declares `audited`.
   */
  takeChange?: () => number | null;
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
   * that every method that writes a record declares this.
   */
  audited?: true;
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

export interface RegisteredMethod extends MethodDef {
  check: TypeCheck<TSchema>;
}

export function defineMethod<P extends TSchema>(def: MethodDef<P>): MethodDef<P> {
  return def;
}

export class RpcRegistry {
  private readonly methods = new Map<string, RegisteredMethod>();

  register(...defs: MethodDef<any>[]): this {
    for (const def of defs) {
      if (this.methods.has(def.name)) throw new Error(`duplicate RPC method ${def.name}`);
      this.methods.set(def.name, { ...def, check: TypeCompiler.Compile(def.params) });
    }
    return this;
  }

  get(name: string): RegisteredMethod | undefined {
    return this.methods.get(name);
  }

  list(): RegisteredMethod[] {
    return [...this.methods.values()];
  }

  openrpc(version: string): Record<string, unknown> {
    const plain = (s: TSchema) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
    return {
      openrpc: "1.3.2",
      info: {
        title: "OpenClawMU tenant RPC",
        version,
        description: "JSON-RPC 2.0 over POST /rpc with Authorization: Bearer <tenant token>. A tenant can only act on itself.",
      },
      methods: this.list().map((m) => {
        const p = plain(m.params) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
        return {
          name: m.name,
          summary: m.summary,
          paramStructure: "by-name",
          params: Object.entries(p.properties ?? {}).map(([name, schema]) => ({
            name,
            required: (p.required ?? []).includes(name),
            schema,
          })),
          result: { name: "result", schema: plain(m.result) },
          ...(m.returnsSecret ? { "x-shown-once": true, description: "The result is shown only once: call it with an id; as a notification it is refused, not run." } : {}),
          examples: [{ name: "example", params: Object.entries(m.example as Record<string, unknown>).map(([name, value]) => ({ name, value })), result: { name: "result", value: null } }],
        };
      }),
    };
  }
}
