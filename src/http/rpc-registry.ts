// The tenant JSON-RPC method registry: every module's methods (edge/rpc.ts shapes them), their params
// compiled once, and the OpenRPC document. No HTTP here: the dispatcher takes text and a context and
// returns text.
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { MethodDef } from "../edge/rpc.ts";

export interface RegisteredMethod extends MethodDef {
  check: TypeCheck<TSchema>;
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
        description: "JSON-RPC 2.0 over POST /rpc with Authorization: Bearer <tenant token>, or over a WebSocket on GET /rpc (the same methods, plus the tenant's events as notifications; token by header or the subprotocol bearer.<token>). A tenant can only act on itself.",
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
