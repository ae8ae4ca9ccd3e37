// The tenant RPC methods: every module's (src/app/modules.ts order), and the transport's own two.
import { Type as T } from "@sinclair/typebox";
import type { Core } from "../app/core.ts";
import { defineMethod } from "../edge/rpc.ts";
import { RpcRegistry } from "./rpc-registry.ts";

export function createRpcRegistry(core: Core): RpcRegistry {
  const registry = new RpcRegistry();
  registry.register(
    defineMethod({
      name: "health",
      summary: "Liveness as seen by the calling tenant.",
      params: T.Object({}, { additionalProperties: false }),
      result: T.Object({ status: T.Literal("ok"), version: T.String(), tenantId: T.String(), time: T.String() }),
      tenantScoped: false,
      mutates: false,
      example: {},
      handler: (ctx) => ({ status: "ok" as const, version: core.version, tenantId: ctx.tenant.tenantId, time: new Date(core.clock.now()).toISOString() }),
    }),
  );
  for (const m of core.modules) if (m.rpc) registry.register(...m.rpc(core.servicesOf(m)));
  registry.register(
    defineMethod({
      name: "rpc.discover",
      summary: "This API as an OpenRPC document.",
      params: T.Object({}, { additionalProperties: false }),
      result: T.Record(T.String(), T.Unknown()),
      tenantScoped: false,
      mutates: false,
      example: {},
      handler: () => registry.openrpc(core.version),
    }),
  );
  return registry;
}
