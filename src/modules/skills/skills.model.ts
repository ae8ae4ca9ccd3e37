// The shapes of the skills and plugins surfaces (RPC, admin API), shared by both.
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { PACKAGE_NAME_PATTERN } from "./package.types.ts";

export const PackageName = T.String({ minLength: 1, maxLength: 64, pattern: PACKAGE_NAME_PATTERN, description: "the package's name (its folder's)" });

export const PackageViewSchema = T.Object({
  kind: T.Union([T.Literal("skill"), T.Literal("plugin")]),
  name: T.String(),
  source: T.Union([T.Literal("tenant"), T.Literal("operator")]),
  status: T.Union([T.Literal("ok"), T.Literal("error")]),
  error: T.Union([T.String(), T.Null()], { description: "why the package cannot be used (status error)" }),
  enabled: T.Boolean(),
  description: T.String(),
  files: T.Integer(),
  bytes: T.Integer(),
  version: T.Union([T.String(), T.Null()]),
  tools: T.Array(T.String(), { description: "a plugin's tools (seen by agents as plugin__<plugin>__<tool>)" }),
  installedAt: T.Union([T.String(), T.Null()]),
  sha256: T.Union([T.String(), T.Null()], { description: "SHA-256 of the archive it was installed from" }),
});

export const PackageListSchema = T.Object({ items: T.Array(PackageViewSchema) });
export const RemovedSchema = T.Object({ kind: T.Union([T.Literal("skill"), T.Literal("plugin")]), name: T.String(), removed: T.Literal(true) });

/** An upload: the archive's bytes in base64 (tar, tar.gz or zip). */
export const InstallFields = {
  archive: T.String({ minLength: 1, maxLength: 512 * 1024 * 1024, description: "the package as a tar, tar.gz or zip archive, base64-encoded" }),
  name: T.Optional(PackageName),
  replace: T.Optional(T.Boolean({ description: "install over a package of the same name" })),
};

/** base64 → bytes; refuses text that is not base64 rather than decoding part of it. */
export function archiveBytes(b64: string): Buffer {
  const s = b64.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) throw new AppError("INVALID_PARAMS", "archive: is not base64 (send the tar, tar.gz or zip file's bytes base64-encoded)", { details: { field: "archive" } });
  return Buffer.from(s, "base64");
}
