// The skills service: a tenant's skills and plugins — loaded (cached per tenant, refreshed when the
// gateway changes them or a folder's stamp moves), listed, installed from an archive, enabled,
// disabled and removed. Every look-up is under the caller's tenant: another tenant's package is the
// same NOT_FOUND as one that does not exist. Install, enable, disable and remove are audited, and
// each tenant's changes run one at a time (CONFLICT while one is under way).
import type { Database } from "bun:sqlite";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Clock } from "../../core/clock.ts";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { OpContext } from "../../edge/actor.ts";
import { assertCurrent, type TenantScope } from "../../edge/tenant-scope.ts";
import { fdPath, lstatAt, openDirBeneath } from "../../lib/confined-dir.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import { parseSkillMd } from "./front-matter.ts";
import { discard, REMOVED_PREFIX, SCRATCH_PREFIX, scratchName, writePackage } from "./install-write.ts";
import { openKindDir, readKindDir, readPackage } from "./package-read.ts";
import { capsOf, KIND_DIR, MARKER, PACKAGE_NAME, type LoadedPackage, type PackageKind, type PackageView } from "./package.types.ts";
import { createPackageStore, type PackageRow } from "./skills.store.ts";
import { refuseArchive, unpackArchive, type UnpackedEntry } from "./unpack.ts";
import { opAudit } from "../audit/audit.record.ts";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
/** How long a loaded list is trusted without looking at the folder's stamp again. */
const STAMP_TTL_MS = 2000;

export interface InstallInput {
  archive: Buffer;
  name?: string;
  replace?: boolean;
}

/** A package as the agent uses it: loaded, enabled, usable. */
export type ActivePackage = LoadedPackage & { status: "ok" };

interface Cached {
  stamp: string;
  checkedAt: number;
  list: LoadedPackage[];
}

export function createSkillsService(deps: { home: string; sqlite: Database; clock: Clock; config(): GatewayConfig; audit: AuditLog; disk: DiskGuard; log: Logger }) {
  const store = createPackageStore(deps.sqlite);
  const cache = new Map<string, Cached>();
  const busy = new Set<string>();
  const notFound = (kind: PackageKind) => new AppError("NOT_FOUND", `${kind} not found`);

  const openRoot = (tenantId: string) => fs.openSync(tenantDir(deps.home, tenantId), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  const stampOf = (fd: number | null) => {
    if (fd === null) return "none";
    const st = fs.fstatSync(fd);
    return `${st.ino}:${st.mtimeMs}`;
  };

  /** Packages in one folder, through the cache (key: whose, which kind). */
  const loadDir = (key: string, open: () => number | null, kind: PackageKind, source: LoadedPackage["source"]): LoadedPackage[] => {
    const now = deps.clock.now();
    const hit = cache.get(key);
    if (hit && now - hit.checkedAt < STAMP_TTL_MS) return hit.list;
    let fd: number | null = null;
    try {
      fd = open();
      const stamp = stampOf(fd);
      if (hit && hit.stamp === stamp) {
        hit.checkedAt = now;
        return hit.list;
      }
      const c = deps.config().gateway.skills;
      const list = fd === null ? [] : readKindDir(fd, kind, source, capsOf(deps.config()), c.maxPackagesPerTenant * 2);
      cache.set(key, { stamp, checkedAt: now, list });
      return list;
    } catch (err) {
      deps.log.warn("cannot read a skills folder", { key, error: String(err) });
      return [];
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
  };

  const tenantPackages = (tenant: TenantScope, kind: PackageKind): LoadedPackage[] =>
    loadDir(`${tenant.tenantId}/${kind}`, () => {
      let root: number;
      try {
        root = openRoot(tenant.tenantId);
      } catch {
        return null;
      }
      try {
        return openKindDir(root, KIND_DIR[kind]);
      } finally {
        fs.closeSync(root);
      }
    }, kind, "tenant");

  /** The operator's skills (<home>/skills/): every tenant sees them; a tenant's own skill of the same name hides one. */
  const operatorSkills = (): LoadedPackage[] =>
    loadDir("@operator/skill", () => {
      try {
        return fs.openSync(path.join(deps.home, "skills"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch {
        return null;
      }
    }, "skill", "operator");

  /** What the tenant sees of a kind: its own packages, then the operator's skills it has none of the same name of. */
  const visible = (tenant: TenantScope, kind: PackageKind): LoadedPackage[] => {
    const own = tenantPackages(tenant, kind);
    if (kind !== "skill") return own;
    const names = new Set(own.map((p) => p.name));
    return [...own, ...operatorSkills().filter((p) => !names.has(p.name))];
  };

  const view = (p: LoadedPackage, row: PackageRow | undefined): PackageView => ({
    kind: p.kind,
    name: p.name,
    source: p.source,
    status: p.status,
    error: p.error ?? null,
    enabled: row ? row.enabled === 1 : true,
    description: p.description,
    files: p.files,
    bytes: p.bytes,
    version: p.version ?? null,
    tools: (p.tools ?? []).map((t) => t.name),
    installedAt: row?.installedAt ? new Date(row.installedAt).toISOString() : null,
    sha256: row?.sha256 ?? null,
  });

  const find = (tenant: TenantScope, kind: PackageKind, name: unknown): LoadedPackage => {
    if (typeof name !== "string" || !PACKAGE_NAME.test(name)) throw notFound(kind);
    const p = visible(tenant, kind).find((x) => x.name === name);
    if (!p) throw notFound(kind);
    return p;
  };

  const forget = (tenantId: string) => {
    for (const k of [...cache.keys()]) if (k.startsWith(`${tenantId}/`)) cache.delete(k);
  };

  const entry = (tenant: TenantScope, op: OpContext, action: string, kind: PackageKind, name: string, details?: Record<string, unknown>) => opAudit(op, action, { type: kind, id: name }, tenant.tenantId, details);

  /** One change at a time per tenant and kind. */
  const exclusive = async <T>(tenant: TenantScope, kind: PackageKind, fn: () => Promise<T> | T): Promise<T> => {
    const key = `${tenant.tenantId}/${kind}`;
    if (busy.has(key)) throw new AppError("CONFLICT", `another change to this tenant's ${kind}s is under way; try again when it ends`);
    busy.add(key);
    try {
      return await fn();
    } finally {
      busy.delete(key);
      forget(tenant.tenantId);
    }
  };

  /** The name the archive's package declares (SKILL.md's front matter, the manifest's name). */
  const declaredName = (kind: PackageKind, entries: readonly UnpackedEntry[]): string => {
    const marker = entries.find((e) => e.type === "file" && e.segs.length === 1 && e.segs[0] === MARKER[kind])!;
    const caps = capsOf(deps.config());
    const max = kind === "skill" ? caps.maxSkillMdBytes : caps.maxManifestBytes;
    if (marker.data.length > max) throw refuseArchive(kind, `its ${MARKER[kind]} is larger than ${max} bytes`);
    const text = marker.data.toString("utf8");
    try {
      if (kind === "skill") return parseSkillMd(text, null).name;
      const name = (JSON.parse(text) as { name?: unknown } | null)?.name;
      if (typeof name !== "string" || !PACKAGE_NAME.test(name)) throw new Error(`its ${MARKER.plugin} names no valid plugin (${PACKAGE_NAME.source})`);
      return name;
    } catch (err) {
      throw refuseArchive(kind, err instanceof SyntaxError ? `its ${MARKER.plugin} is not valid JSON` : (err as Error).message);
    }
  };

  return {
    /** The tenant's packages of a kind, with their state (errors included, with the reason). */
    list(tenant: TenantScope, kind: PackageKind): PackageView[] {
      const rows = store.rows(tenant.tenantId, kind);
      return visible(tenant, kind).map((p) => view(p, rows.get(p.name)));
    },

    /** What the agent may use: loaded without error and enabled. */
    active(tenant: TenantScope, kind: PackageKind): ActivePackage[] {
      const rows = store.rows(tenant.tenantId, kind);
      return visible(tenant, kind).filter((p): p is ActivePackage => p.status === "ok" && (rows.get(p.name)?.enabled ?? 1) === 1);
    },

    async install(tenant: TenantScope, kind: PackageKind, input: InstallInput, op: OpContext): Promise<PackageView> {
      const caps = capsOf(deps.config());
      const entries = await unpackArchive(kind, input.archive, caps);
      const name = declaredName(kind, entries);
      if (input.name !== undefined && input.name !== name) throw refuseArchive(kind, `it holds the ${kind} ${JSON.stringify(name)}, not ${JSON.stringify(input.name.slice(0, 64))}`);
      assertCurrent(tenant);
      return exclusive(tenant, kind, async () => {
        const bytes = entries.reduce((n, e) => n + e.data.length, 0);
        deps.disk.admitWrite(tenant, bytes + entries.length * 4096, entries.length + 1);
        const root = openRoot(tenant.tenantId);
        let kindFd: number | null = null;
        let scratch: string | null = null;
        let old: string | null = null;
        try {
          if (!lstatAt(root, KIND_DIR[kind])) fs.mkdirSync(fdPath(root, KIND_DIR[kind]), { mode: 0o700 });
          kindFd = openDirBeneath(root, KIND_DIR[kind]);
          const kfd = kindFd;
          // Scratch folders a crash left behind are the gateway's (this tenant's changes run one at a time).
          for (const n of fs.readdirSync(fdPath(kfd))) if (n.startsWith(SCRATCH_PREFIX) || n.startsWith(REMOVED_PREFIX)) void discard(kfd, n, () => {});
          const own = tenantPackages(tenant, kind);
          const exists = !!lstatAt(kfd, name);
          if (exists && !input.replace) throw new AppError("CONFLICT", `the ${kind} ${JSON.stringify(name)} is already installed; pass replace to install over it`);
          if (!exists && own.length >= deps.config().gateway.skills.maxPackagesPerTenant) {
            throw new AppError("QUOTA_EXCEEDED", `this tenant has ${own.length} ${kind}s, the most it may have (gateway.skills.maxPackagesPerTenant); remove one first`);
          }
          scratch = scratchName(SCRATCH_PREFIX);
          writePackage(kfd, scratch, entries);
          // The written folder is checked by the reader that loads packages: one set of rules.
          const checked = readPackage(kfd, kind, scratch, "tenant", caps, name);
          if (checked.status !== "ok") throw refuseArchive(kind, checked.error!);
          assertCurrent(tenant);
          const sha256 = crypto.createHash("sha256").update(input.archive).digest("hex");
          const now = deps.clock.now();
          const s = scratch;
          deps.audit.transact(entry(tenant, op, `${kind}.install`, kind, name, { sha256, bytes, files: checked.files, replaced: exists }), (onRollback) => {
            if (exists) {
              old = scratchName(REMOVED_PREFIX);
              fs.renameSync(fdPath(kfd, name), fdPath(kfd, old));
            }
            fs.renameSync(fdPath(kfd, s), fdPath(kfd, name));
            onRollback(() => {
              fs.renameSync(fdPath(kfd, name), fdPath(kfd, s));
              if (old) fs.renameSync(fdPath(kfd, old), fdPath(kfd, name));
              old = null;
            });
            store.installed(tenant.tenantId, kind, name, now, `${op.actor.kind}:${op.actor.id}`, sha256, bytes);
          });
          scratch = null;
          deps.disk.recordWrite(tenant, bytes, entries.length + 1);
          forget(tenant.tenantId);
          return view({ ...checked, name }, store.rows(tenant.tenantId, kind).get(name));
        } finally {
          if (kindFd !== null) {
            const onError = (err: unknown) => deps.log.warn("cannot remove a skills scratch folder", { tenant: tenant.tenantId, error: String(err) });
            if (scratch) await discard(kindFd, scratch, onError);
            if (old) void discard(kindFd, old, onError).then(() => deps.disk.invalidate(tenant));
            fs.closeSync(kindFd);
          }
          fs.closeSync(root);
        }
      });
    },

    async setEnabled(tenant: TenantScope, kind: PackageKind, name: string, enabled: boolean, op: OpContext): Promise<PackageView> {
      return exclusive(tenant, kind, () => {
        const p = find(tenant, kind, name);
        deps.audit.transact(entry(tenant, op, `${kind}.${enabled ? "enable" : "disable"}`, kind, p.name, { source: p.source }), () => store.setEnabled(tenant.tenantId, kind, p.name, enabled, deps.clock.now()));
        return view(p, store.rows(tenant.tenantId, kind).get(p.name));
      });
    },

    async remove(tenant: TenantScope, kind: PackageKind, name: string, op: OpContext): Promise<{ kind: PackageKind; name: string; removed: true }> {
      return exclusive(tenant, kind, async () => {
        const p = find(tenant, kind, name);
        if (p.source !== "tenant") throw new AppError("FORBIDDEN", `the ${kind} ${JSON.stringify(p.name)} is the operator's; disable it instead`);
        const root = openRoot(tenant.tenantId);
        try {
          const kfd = openDirBeneath(root, KIND_DIR[kind]);
          const gone = scratchName(REMOVED_PREFIX);
          try {
            deps.audit.transact(entry(tenant, op, `${kind}.remove`, kind, p.name), (onRollback) => {
              fs.renameSync(fdPath(kfd, p.name), fdPath(kfd, gone));
              onRollback(() => fs.renameSync(fdPath(kfd, gone), fdPath(kfd, p.name)));
              store.remove(tenant.tenantId, kind, p.name);
            });
            await discard(kfd, gone, (err) => deps.log.warn("cannot remove a skill's folder", { tenant: tenant.tenantId, error: String(err) }));
          } finally {
            fs.closeSync(kfd);
          }
        } finally {
          fs.closeSync(root);
        }
        deps.disk.invalidate(tenant);
        return { kind, name: p.name, removed: true as const };
      });
    },

    /** Drops what is cached for a tenant (deleted, restored). */
    forget: (tenant: TenantScope) => forget(tenant.tenantId),
  };
}

export type SkillsService = ReturnType<typeof createSkillsService>;
