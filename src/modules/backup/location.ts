// Backup locations: `s3://bucket/key` (a key may end in "/" for a prefix) or an absolute file path.
// S3 keys are path-hardened like every other path: no absolute keys, no `..`, no backslashes or
// control characters, no empty segments.
import path from "node:path";
import { AppError } from "../../core/errors.ts";
import { checkRelativePath, PathError } from "../paths/path-resolver.ts";

/** A file location may carry `via`: the same file reached through a checked directory descriptor (see targets.ts), used for I/O. */
export type Location = { kind: "s3"; bucket: string; key: string } | { kind: "file"; path: string; via?: string };

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function formatLocation(l: Location): string {
  return l.kind === "s3" ? `s3://${l.bucket}/${l.key}` : l.path;
}

/** Parses `s3://bucket/key` or an absolute file path; `bucketRoot` also accepts `s3://bucket/` (key ""). */
export function parseLocation(raw: string, opts: { bucketRoot?: boolean } = {}): Location {
  if (typeof raw !== "string" || raw.length === 0) throw new AppError("INVALID_PARAMS", "give s3://bucket/key or an absolute file path");
  if (raw.startsWith("s3://")) {
    const rest = raw.slice(5);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? "" : rest.slice(slash + 1);
    if (!BUCKET.test(bucket) || bucket.includes("..")) throw new AppError("INVALID_PARAMS", `"${bucket.slice(0, 80)}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
    if (key === "" && opts.bucketRoot && slash >= 0) return { kind: "s3", bucket, key: "" };
    return { kind: "s3", bucket, key: checkKey(key) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw new AppError("INVALID_PARAMS", `unsupported location ${JSON.stringify(raw.slice(0, 80))}: use s3://bucket/key or a file path`);
  if (!path.isAbsolute(raw)) throw new AppError("INVALID_PARAMS", `file path ${JSON.stringify(raw.slice(0, 200))} must be absolute`);
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new AppError("INVALID_PARAMS", "file path contains a control character");
  return { kind: "file", path: path.normalize(raw) };
}

/** An S3 key through the path resolver's lexical checks; a trailing "/" marks a prefix. */
export function checkKey(key: string): string {
  if (key === "") throw new AppError("INVALID_PARAMS", "the S3 location needs a key (s3://bucket/key)");
  if (key.length > 1024) throw new AppError("INVALID_PARAMS", "S3 keys are at most 1024 characters");
  try {
    checkRelativePath(key.endsWith("/") ? key.slice(0, -1) : key);
  } catch (err) {
    if (err instanceof PathError) throw new AppError("INVALID_PARAMS", `S3 key: ${err.message.replace(/^path /, "")}`);
    throw err;
  }
  if (key.includes("//")) throw new AppError("INVALID_PARAMS", "S3 key has an empty path segment");
  return key;
}
