// File tools over a tenant's workspace (tenants/<id>/workspace, the sandbox's /work). Every path
// goes through the one resolver's lexical checks, then every filesystem step is taken relative to a
// directory fd opened with openat2(RESOLVE_BENEATH): a sandbox of the same tenant swapping a directory
// for a symlink mid-operation cannot redirect the gateway outside the workspace. Final components are
// never followed; FIFOs and devices are never opened for reading; sizes and counts are capped.
import fs from "node:fs";
import { AppError } from "../../core/errors.ts";
import { DIR_NOFOLLOW, fdPath, lstatAt } from "../../lib/confined-dir.ts";
import { Openat2Error, openat2Available, openBeneath } from "../../lib/openat2.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import { allocated, type DiskGuard } from "../disk/disk.service.ts";
import { checkRelativePath, PathError } from "../paths/path-resolver.ts";
import type { SandboxIdentity } from "../sandbox/sandbox.types.ts";
import { kindOf, shown, translate, type FileStat } from "./file-errors.ts";
import { removeTree, TooManyEntries } from "../../lib/tree-remove.ts";
import { MAX_TREE_DEPTH } from "../../lib/tree-walk.ts";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = fs.constants;

export const FILES_LIMITS = {
  maxReadBytes: 8 * 1024 * 1024,
  maxWriteBytes: 8 * 1024 * 1024,
  maxListEntries: 10_000,
  defaultListEntries: 1000,
  maxDeleteEntries: 100_000,
};

export function createFilesService(deps: { home: string; identity: () => SandboxIdentity; disk: Pick<DiskGuard, "admitWrite" | "recordWrite" | "invalidate"> }) {
  function requireOpenat2() {
    if (!openat2Available()) throw new AppError("UNAVAILABLE", "file tools need openat2 (Linux 5.6 or later); this kernel does not have it");
  }

  function withRoot<T>(tenant: TenantScope, fn: (rootFd: number) => T): T {
    requireOpenat2();
    const tenantRoot = tenantDir(deps.home, tenant.tenantId);
    let tenantFd: number;
    try {
      tenantFd = fs.openSync(tenantRoot, DIR_NOFOLLOW);
    } catch {
      throw new AppError("NOT_FOUND", "the tenant has no workspace");
    }
    let rootFd: number;
    try {
      rootFd = openBeneath(tenantFd, "workspace", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      if (err instanceof Openat2Error && err.code === "ENOENT") {
        fs.mkdirSync(fdPath(tenantFd, "workspace"), { mode: 0o700 });
        rootFd = openBeneath(tenantFd, "workspace", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        own(rootFd);
      } else throw new AppError("INTERNAL", "the tenant's workspace is not a directory");
    } finally {
      fs.closeSync(tenantFd);
    }
    let result: T;
    try {
      result = fn(rootFd);
    } catch (err) {
      fs.closeSync(rootFd);
      throw err;
    }
    // An operation that runs in time slices (a recursive delete) keeps the descriptor until it is done.
    if (result instanceof Promise) return result.finally(() => fs.closeSync(rootFd)) as T;
    fs.closeSync(rootFd);
    return result;
  }

  /** New files and directories belong to the sandbox identity, so sandboxed code can use them. */
  function own(fd: number) {
    const id = deps.identity();
    if (id.viaStage) fs.fchownSync(fd, id.uid, id.gid);
  }

  /** Splits a user path into (parent segments, leaf); "" / "." only where the root itself is meant. */
  function split(userPath: unknown, allowRoot: boolean): { segments: string[]; parent: string; leaf: string | null } {
    if (allowRoot && (userPath === undefined || userPath === "" || userPath === ".")) return { segments: [], parent: ".", leaf: null };
    const segments = checkRelativePath(userPath);
    if (segments.length === 0) {
      if (allowRoot) return { segments, parent: ".", leaf: null };
      throw new PathError("empty", String(userPath), "path names the workspace itself; give a file path");
    }
    return { segments, parent: segments.length > 1 ? segments.slice(0, -1).join("/") : ".", leaf: segments[segments.length - 1]! };
  }

  /** A directory to operate in: links on the way (the last one too) must stay beneath the workspace. */
  function openDir(rootFd: number, rel: string, userPath: string): number {
    try {
      return openBeneath(rootFd, rel, O_RDONLY | O_DIRECTORY);
    } catch (err) {
      translate(err, userPath);
    }
  }

  function statOf(relative: string, st: fs.Stats, dirFd: number, name: string): FileStat {
    const out: FileStat = { path: relative, kind: kindOf(st), size: st.size, mtime: new Date(st.mtimeMs).toISOString(), mode: (st.mode & 0o7777).toString(8).padStart(4, "0") };
    if (st.isSymbolicLink()) out.target = fs.readlinkSync(fdPath(dirFd, name));
    return out;
  }

  return {
    read(tenant: TenantScope, userPath: string, opts: { offset?: number; length?: number } = {}) {
      const { segments } = split(userPath, false);
      const rel = segments.join("/");
      const offset = opts.offset ?? 0;
      const length = Math.min(opts.length ?? FILES_LIMITS.maxReadBytes, FILES_LIMITS.maxReadBytes);
      if (!Number.isInteger(offset) || offset < 0) throw new AppError("INVALID_PARAMS", "offset must be a non-negative integer");
      if (!Number.isInteger(length) || length < 0) throw new AppError("INVALID_PARAMS", "length must be a non-negative integer");
      return withRoot(tenant, (root) => {
        let fd: number;
        try {
          // O_NONBLOCK: a FIFO planted in the workspace must not hang the gateway.
          fd = openBeneath(root, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        } catch (err) {
          translate(err, userPath);
        }
        try {
          const st = fs.fstatSync(fd);
          if (st.isDirectory()) throw new AppError("CONFLICT", `${shown(userPath)} is a directory`);
          if (!st.isFile()) throw new AppError("INVALID_PARAMS", `${shown(userPath)} is not a regular file`);
          const want = Math.max(0, Math.min(length, st.size - offset));
          const buf = Buffer.alloc(want);
          let got = 0;
          while (got < want) {
            const n = fs.readSync(fd, buf, got, want - got, offset + got);
            if (n === 0) break;
            got += n;
          }
          return { path: rel, size: st.size, offset, bytes: buf.subarray(0, got), truncated: offset + got < st.size };
        } finally {
          fs.closeSync(fd);
        }
      });
    },

    write(tenant: TenantScope, userPath: string, data: Uint8Array, opts: { mode?: "overwrite" | "create" | "append"; mkdirs?: boolean } = {}) {
      if (data.length > FILES_LIMITS.maxWriteBytes) throw new AppError("PAYLOAD_TOO_LARGE", `content is larger than ${FILES_LIMITS.maxWriteBytes} bytes`);
      const { segments, leaf } = split(userPath, false);
      // The workspace is level 1 of the tenant's tree: its directories may go no deeper than every tree may.
      if (segments.length > MAX_TREE_DEPTH) throw new AppError("INVALID_PARAMS", `path ${shown(userPath)} is nested more than ${MAX_TREE_DEPTH} directories deep (the limit of every tenant tree)`);
      const mode = opts.mode ?? "overwrite";
      // The tenant's disk limit and the gateway's reserve: nothing is written past either.
      deps.disk.admitWrite(tenant, 0, 0);
      return withRoot(tenant, (root) => {
        // Walk (and with mkdirs, create) the parents. Each is opened beneath the workspace root, so links
        // on the way may be followed only while they stay inside it.
        let dirFd = fs.openSync(fdPath(root), O_RDONLY | O_DIRECTORY);
        try {
          const parents = segments.slice(0, -1);
          for (let i = 0; i < parents.length; i++) {
            const prefix = parents.slice(0, i + 1).join("/");
            let next: number;
            try {
              next = openBeneath(root, prefix, O_RDONLY | O_DIRECTORY);
            } catch (err) {
              if (!(err instanceof Openat2Error && err.code === "ENOENT" && opts.mkdirs)) translate(err, userPath);
              deps.disk.admitWrite(tenant, 4096, 1);
              try {
                fs.mkdirSync(fdPath(dirFd, parents[i]!), { mode: 0o700 });
              } catch (mkErr) {
                translate(mkErr, userPath);
              }
              next = openBeneath(dirFd, parents[i]!, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
              own(next);
              deps.disk.recordWrite(tenant, fs.fstatSync(next).blocks * 512, 1);
            }
            fs.closeSync(dirFd);
            dirFd = next;
          }
          const existing = lstatAt(dirFd, leaf!);
          if (existing?.isSymbolicLink()) throw new PathError("final_symlink", userPath, `path ${shown(userPath)} is a symbolic link; links are not followed`);
          if (existing?.isDirectory()) throw new AppError("CONFLICT", `${shown(userPath)} is a directory`);
          if (existing && !existing.isFile()) throw new AppError("INVALID_PARAMS", `${shown(userPath)} is not a regular file`);
          const before = existing ? existing.blocks * 512 : 0;
          const after = allocated(mode === "append" && existing ? existing.size + data.length : data.length);
          deps.disk.admitWrite(tenant, Math.max(0, after - before), existing ? 0 : 1);
          const writeAll = (fd: number) => {
            let off = 0;
            while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
          };
          if (mode === "overwrite") {
            // Write a fresh file and rename it over the target: readers never see half a file.
            const tmp = `.openclaw-tmp-${crypto.randomUUID()}`;
            const fd = openBeneath(dirFd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
            try {
              writeAll(fd);
              own(fd);
            } catch (err) {
              fs.closeSync(fd);
              fs.rmSync(fdPath(dirFd, tmp), { force: true });
              throw err;
            }
            fs.closeSync(fd);
            try {
              fs.renameSync(fdPath(dirFd, tmp), fdPath(dirFd, leaf!));
            } catch (err) {
              fs.rmSync(fdPath(dirFd, tmp), { force: true });
              translate(err, userPath);
            }
          } else {
            const flags = mode === "create" ? O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW : O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK;
            let fd: number;
            try {
              fd = openBeneath(dirFd, leaf!, flags, 0o600);
            } catch (err) {
              translate(err, userPath);
            }
            try {
              if (!fs.fstatSync(fd).isFile()) throw new AppError("INVALID_PARAMS", `${shown(userPath)} is not a regular file`);
              writeAll(fd);
              own(fd);
            } finally {
              fs.closeSync(fd);
            }
          }
          const st = lstatAt(dirFd, leaf!)!;
          deps.disk.recordWrite(tenant, st.blocks * 512 - before, existing ? 0 : 1);
          return { path: segments.join("/"), size: st.size, mtime: new Date(st.mtimeMs).toISOString() };
        } finally {
          fs.closeSync(dirFd);
        }
      });
    },

    list(tenant: TenantScope, userPath: string | undefined, opts: { limit?: number } = {}) {
      const { segments } = split(userPath, true);
      const rel = segments.join("/") || ".";
      const limit = Math.min(opts.limit ?? FILES_LIMITS.defaultListEntries, FILES_LIMITS.maxListEntries);
      return withRoot(tenant, (root) => {
        const fd = openDir(root, rel, String(userPath ?? "."));
        try {
          const names = fs.readdirSync(fdPath(fd)).sort();
          const entries: FileStat[] = [];
          for (const name of names.slice(0, limit)) {
            const st = lstatAt(fd, name);
            if (st) entries.push(statOf(name, st, fd, name));
          }
          return { path: rel === "." ? "" : rel, entries, truncated: names.length > limit, total: names.length };
        } finally {
          fs.closeSync(fd);
        }
      });
    },

    stat(tenant: TenantScope, userPath: string | undefined): FileStat {
      const { segments, parent, leaf } = split(userPath, true);
      return withRoot(tenant, (root) => {
        if (leaf === null) {
          const st = fs.fstatSync(root);
          return { path: "", kind: "directory" as const, size: st.size, mtime: new Date(st.mtimeMs).toISOString(), mode: (st.mode & 0o7777).toString(8).padStart(4, "0") };
        }
        const dirFd = openDir(root, parent, String(userPath));
        try {
          const st = lstatAt(dirFd, leaf);
          if (!st) throw new AppError("NOT_FOUND", `${shown(String(userPath))} does not exist`);
          return statOf(segments.join("/"), st, dirFd, leaf);
        } finally {
          fs.closeSync(dirFd);
        }
      });
    },

    /** Bad input is refused at once (a throw); a recursive delete then runs in time slices (any depth: lib/tree-remove.ts). */
    delete(tenant: TenantScope, userPath: string, opts: { recursive?: boolean } = {}): Promise<{ path: string; deleted: true; kind: ReturnType<typeof kindOf> }> {
      const { segments, parent, leaf } = split(userPath, false);
      return withRoot(tenant, (root) => {
        const dirFd = openDir(root, parent, userPath);
        let removal: Promise<unknown>;
        let kind: ReturnType<typeof kindOf>;
        try {
          const st = lstatAt(dirFd, leaf!);
          if (!st) throw new AppError("NOT_FOUND", `${shown(userPath)} does not exist`);
          kind = kindOf(st);
          try {
            if (!st.isDirectory()) fs.unlinkSync(fdPath(dirFd, leaf!));
            else if (!opts.recursive) fs.rmdirSync(fdPath(dirFd, leaf!));
          } catch (err) {
            deps.disk.invalidate(tenant);
            translate(err, userPath);
          }
          removal = st.isDirectory() && opts.recursive ? removeTree(dirFd, leaf!, { maxEntries: FILES_LIMITS.maxDeleteEntries }) : Promise.resolve();
        } catch (err) {
          fs.closeSync(dirFd);
          throw err;
        }
        return removal
          .then(() => ({ path: segments.join("/"), deleted: true as const, kind }), (err) => {
            if (err instanceof TooManyEntries) throw new AppError("PAYLOAD_TOO_LARGE", `more than ${FILES_LIMITS.maxDeleteEntries} entries to delete in one call; what was deleted stays deleted, call again for the rest`);
            translate(err, userPath);
          })
          .finally(() => {
            fs.closeSync(dirFd);
            // Usage went down (a partial recursive delete too): measure again before the next write.
            deps.disk.invalidate(tenant);
          });
      });
    },
  };
}

export type FilesService = ReturnType<typeof createFilesService>;
