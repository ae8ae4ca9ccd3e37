// Tenant file tools over the workspace (the sandbox's /work). Paths are relative to the workspace;
// the resolver and openat2 keep every step inside it.
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { defineMethod } from "../../http/rpc/registry.ts";
import { selfOnly } from "../rpc/tenant-scope.ts";
import { SelfTenantId } from "../tenants/tenants.rpc.ts";
import { FILES_LIMITS } from "./files.service.ts";

const strict = { additionalProperties: false } as const;
const RelPath = T.String({ minLength: 1, maxLength: 4096, description: "path relative to the workspace (/work in sandboxes)" });
const Encoding = T.Union([T.Literal("utf8"), T.Literal("base64")], { default: "utf8" });
const Stat = T.Object({
  path: T.String(),
  kind: T.Union([T.Literal("file"), T.Literal("directory"), T.Literal("symlink"), T.Literal("other")]),
  size: T.Integer(),
  mtime: T.String(),
  mode: T.String(),
  target: T.Optional(T.String({ description: "for symbolic links: the link text (never followed)" })),
});

function decode(content: string, encoding: "utf8" | "base64" | undefined): Uint8Array {
  if (encoding === "base64") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) throw new AppError("INVALID_PARAMS", "content is not valid base64");
    return Buffer.from(content, "base64");
  }
  return Buffer.from(content, "utf8");
}

export const filesRpc = [
  defineMethod({
    name: "files.read",
    summary: `Reads a file in the calling tenant's workspace (at most ${FILES_LIMITS.maxReadBytes} bytes per call; symbolic links are not followed).`,
    params: T.Object(
      {
        tenantId: SelfTenantId,
        path: RelPath,
        offset: T.Optional(T.Integer({ minimum: 0 })),
        length: T.Optional(T.Integer({ minimum: 0, maximum: FILES_LIMITS.maxReadBytes })),
        encoding: T.Optional(Encoding),
      },
      strict,
    ),
    result: T.Object({ path: T.String(), size: T.Integer(), offset: T.Integer(), content: T.String(), encoding: Encoding, truncated: T.Boolean() }),
    tenantScoped: true,
    mutates: false,
    example: { path: "notes.txt" },
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "files.read");
      const r = ctx.core.files.read(id, p.path, { offset: p.offset, length: p.length });
      const encoding = p.encoding ?? "utf8";
      return { path: r.path, size: r.size, offset: r.offset, content: encoding === "base64" ? Buffer.from(r.bytes).toString("base64") : new TextDecoder().decode(r.bytes), encoding, truncated: r.truncated };
    },
  }),
  defineMethod({
    name: "files.write",
    summary: `Writes a file in the calling tenant's workspace (at most ${FILES_LIMITS.maxWriteBytes} bytes). mode: overwrite (atomic replace, default), create (fails if it exists) or append. Refused with QUOTA_EXCEEDED past the tenant's disk limits.`,
    params: T.Object(
      {
        tenantId: SelfTenantId,
        path: RelPath,
        content: T.String(),
        encoding: T.Optional(Encoding),
        mode: T.Optional(T.Union([T.Literal("overwrite"), T.Literal("create"), T.Literal("append")])),
        mkdirs: T.Optional(T.Boolean({ description: "create missing parent directories" })),
      },
      strict,
    ),
    result: T.Object({ path: T.String(), size: T.Integer(), mtime: T.String() }),
    tenantScoped: true,
    mutates: true,
    example: { path: "notes.txt", content: "hello\n" },
    handler: async (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "files.write");
      // Measure the tenant's directory off the main thread if nothing recent is kept, so the write's
      // disk check below is a lookup.
      await ctx.core.disk.prepare(id);
      return ctx.core.files.write(id, p.path, decode(p.content, p.encoding), { mode: p.mode, mkdirs: p.mkdirs });
    },
  }),
  defineMethod({
    name: "files.list",
    summary: "Lists a directory of the calling tenant's workspace (the workspace itself when path is omitted).",
    params: T.Object(
      {
        tenantId: SelfTenantId,
        path: T.Optional(T.String({ maxLength: 4096 })),
        limit: T.Optional(T.Integer({ minimum: 1, maximum: FILES_LIMITS.maxListEntries })),
      },
      strict,
    ),
    result: T.Object({ path: T.String(), entries: T.Array(Stat), truncated: T.Boolean(), total: T.Integer() }),
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "files.list");
      return ctx.core.files.list(id, p.path, { limit: p.limit });
    },
  }),
  defineMethod({
    name: "files.stat",
    summary: "Type, size, time and mode of a path in the calling tenant's workspace (links are described, not followed).",
    params: T.Object({ tenantId: SelfTenantId, path: T.Optional(T.String({ maxLength: 4096 })) }, strict),
    result: Stat,
    tenantScoped: true,
    mutates: false,
    example: {},
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "files.stat");
      return ctx.core.files.stat(id, p.path);
    },
  }),
  defineMethod({
    name: "files.delete",
    summary: "Deletes a file, link or (empty, or with recursive) directory in the calling tenant's workspace.",
    params: T.Object({ tenantId: SelfTenantId, path: RelPath, recursive: T.Optional(T.Boolean()) }, strict),
    result: T.Object({ path: T.String(), deleted: T.Literal(true), kind: T.String() }),
    tenantScoped: true,
    mutates: true,
    example: { path: "notes.txt" },
    handler: (ctx, p) => {
      const id = selfOnly(ctx, p.tenantId, "files.delete");
      return ctx.core.files.delete(id, p.path, { recursive: p.recursive });
    },
  }),
];
