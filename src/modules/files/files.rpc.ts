// Tenant file tools over the workspace (the sandbox's /work). Paths are relative to the workspace;
// the resolver and openat2 keep every step inside it.
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import { FILES_LIMITS, type FilesService } from "./files.service.ts";

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

export function filesRpc({ files, disk }: { files: FilesService; disk: DiskGuard }) {
  return [
    defineTenantMethod({
      name: "files.read",
      summary: `Reads a file in the calling tenant's workspace (at most ${FILES_LIMITS.maxReadBytes} bytes per call; symbolic links are not followed).`,
      params: {
        path: RelPath,
        offset: T.Optional(T.Integer({ minimum: 0 })),
        length: T.Optional(T.Integer({ minimum: 0, maximum: FILES_LIMITS.maxReadBytes })),
        encoding: T.Optional(Encoding),
      },
      result: T.Object({ path: T.String(), size: T.Integer(), offset: T.Integer(), content: T.String(), encoding: Encoding, truncated: T.Boolean() }),
      mutates: false,
      example: { path: "notes.txt" },
      handler: (tenant, p) => {
        const r = files.read(tenant, p.path, { offset: p.offset, length: p.length });
        const encoding = p.encoding ?? "utf8";
        return { path: r.path, size: r.size, offset: r.offset, content: encoding === "base64" ? Buffer.from(r.bytes).toString("base64") : new TextDecoder().decode(r.bytes), encoding, truncated: r.truncated };
      },
    }),
    defineTenantMethod({
      name: "files.write",
      summary: `Writes a file in the calling tenant's workspace (at most ${FILES_LIMITS.maxWriteBytes} bytes). mode: overwrite (atomic replace, default), create (fails if it exists) or append. Refused with QUOTA_EXCEEDED past the tenant's disk limits.`,
      params: {
        path: RelPath,
        content: T.String(),
        encoding: T.Optional(Encoding),
        mode: T.Optional(T.Union([T.Literal("overwrite"), T.Literal("create"), T.Literal("append")])),
        mkdirs: T.Optional(T.Boolean({ description: "create missing parent directories" })),
      },
      result: T.Object({ path: T.String(), size: T.Integer(), mtime: T.String() }),
      mutates: true,
      example: { path: "notes.txt", content: "hello\n" },
      handler: async (tenant, p) => {
        // Measure the tenant's directory off the main thread if nothing recent is kept, so the write's
        // disk check below is a lookup.
        await disk.prepare(tenant);
        return files.write(tenant, p.path, decode(p.content, p.encoding), { mode: p.mode, mkdirs: p.mkdirs });
      },
    }),
    defineTenantMethod({
      name: "files.list",
      summary: "Lists a directory of the calling tenant's workspace (the workspace itself when path is omitted).",
      params: {
        path: T.Optional(T.String({ maxLength: 4096 })),
        limit: T.Optional(T.Integer({ minimum: 1, maximum: FILES_LIMITS.maxListEntries })),
      },
      result: T.Object({ path: T.String(), entries: T.Array(Stat), truncated: T.Boolean(), total: T.Integer() }),
      mutates: false,
      example: {},
      handler: (tenant, p) => files.list(tenant, p.path, { limit: p.limit }),
    }),
    defineTenantMethod({
      name: "files.stat",
      summary: "Type, size, time and mode of a path in the calling tenant's workspace (links are described, not followed).",
      params: { path: T.Optional(T.String({ maxLength: 4096 })) },
      result: Stat,
      mutates: false,
      example: {},
      handler: (tenant, p) => files.stat(tenant, p.path),
    }),
    defineTenantMethod({
      name: "files.delete",
      summary: "Deletes a file, link or (empty, or with recursive) directory in the calling tenant's workspace.",
      params: { path: RelPath, recursive: T.Optional(T.Boolean()) },
      result: T.Object({ path: T.String(), deleted: T.Literal(true), kind: T.String() }),
      mutates: true,
      freesSpace: true,
      example: { path: "notes.txt" },
      handler: (tenant, p) => files.delete(tenant, p.path, { recursive: p.recursive }),
    }),
  ];
}
