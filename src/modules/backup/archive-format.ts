// The backup archive's format (version 1): a tar stream through zstd, optionally encrypted.
//
//   openclaw-backup.json     first: format, version, tenant id, time, gateway version
//   state/<table>.jsonl      the tenant's rows from state.db, one JSON object per line (the tables
//                            modules declare: modules/module.ts, TenantData)
//   tenant/…                 the tenant's directory: directories and regular files only
//   manifest.json            last: every entry above with its size and SHA-256
//
// Writing is archive-write.ts, reading (which trusts nothing) archive-read.ts.
import { AppError } from "../../core/errors.ts";
import { TENANT_ID_PATTERN } from "../../lib/ids.ts";

export const FORMAT = "openclawmu-backup";
export const FORMAT_VERSION = 1;
export const HEADER_ENTRY = "openclaw-backup.json";
export const MANIFEST_ENTRY = "manifest.json";

export interface ArchiveHeader {
  format: typeof FORMAT;
  version: number;
  tenantId: string;
  createdAt: string;
  gatewayVersion: string;
  schemaVersion: number;
}

export interface ManifestEntry {
  path: string;
  type: "file" | "dir";
  size: number;
  sha256?: string;
}

export interface Manifest extends ArchiveHeader {
  entries: ManifestEntry[];
  skipped: { path: string; kind: string }[];
}

export interface RestoreLimits {
  maxBytes: number;
  maxEntries: number;
  /** Called before each entry of the tenant's directory is written; throws to refuse the archive. */
  tenant?: (e: { size: number; dir: boolean }) => void;
}

export function refuse(message: string): AppError {
  return new AppError("INVALID_PARAMS", `refusing the archive: ${message}; nothing was restored`);
}

/** The first entry, checked: our format, a version we read, a valid tenant id. */
export function checkHeader(raw: unknown): ArchiveHeader {
  const h = raw as Partial<ArchiveHeader>;
  if (!h || typeof h !== "object" || h.format !== FORMAT) throw refuse(`${HEADER_ENTRY} does not describe an OpenClawMU backup`);
  if (h.version !== FORMAT_VERSION) throw refuse(`it is format version ${String(h.version)}; this gateway reads version ${FORMAT_VERSION}`);
  if (typeof h.tenantId !== "string" || !TENANT_ID_PATTERN.test(h.tenantId)) throw refuse(`${HEADER_ENTRY} names no valid tenant`);
  return h as ArchiveHeader;
}

