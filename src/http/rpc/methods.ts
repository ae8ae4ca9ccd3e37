// The one registry of tenant RPC methods, assembled from each module's *.rpc.ts.
import { Type as T } from "@sinclair/typebox";
import { configRpc } from "../../modules/overlays/config.rpc.ts";
import { tenantsRpc } from "../../modules/tenants/tenants.rpc.ts";
import { usageRpc } from "../../modules/usage/usage.rpc.ts";
import { filesRpc } from "../../modules/files/files.rpc.ts";
import { sandboxRpc } from "../../modules/sandbox/sandbox.rpc.ts";
import { backupRpc } from "../../modules/backup/backup.rpc.ts";
import { defineMethod, RpcRegistry } from "./registry.ts";

export function createRpcRegistry(): RpcRegistry {
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
      handler: (ctx) => ({ status: "ok" as const, version: ctx.core.version, tenantId: ctx.tenantId, time: new Date(ctx.core.clock.now()).toISOString() }),
    }),
    ...tenantsRpc,
    ...usageRpc,
    ...configRpc,
    ...sandboxRpc,
    ...filesRpc,
    ...backupRpc,
    defineMethod({
      name: "rpc.discover",
      summary: "This API as an OpenRPC document.",
      params: T.Object({}, { additionalProperties: false }),
      result: T.Record(T.String(), T.Unknown()),
      tenantScoped: false,
      mutates: false,
      example: {},
      handler: (ctx) => registry.openrpc(ctx.core.version),
    }),
  );
  return registry;
}
