// Overlay mounts (`sandbox.mounts[]`) at run time. Every rule of the overlay check is applied again
// here, on what is on disk now, and the source is opened one component at a time beneath the
// tenant root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV): a symbolic
// link anywhere on the path, a mount point, the workspace or the tenant directory itself are
// refused. A feature's mount may instead name the second, operator-owned root, `<home>/skills`
// (root "operator-skills": the operator's skills, which no tenant can write); it is opened and
// held to the same checks beneath that root. Only the gateway's own code sets `root` — the
// overlay's mounts are always the tenant's (sandbox.service.ts). What is then bound is the object
// that was checked:
//   - root gateway: the descriptor itself (open_tree → move_mount, ./mount-stage.ts), or where the
//     file system refuses id-mapped mounts a read-only tmpfs copy made from it (./mount-copy.ts);
//   - otherwise the gateway cannot bind a descriptor (the kernel refuses binds across mount
//     namespaces and an unprivileged process cannot mount), so bwrap or dockerd binds the checked
//     path. No component of it is writable by anything a tenant controls, and the sandbox compares
//     the mounted object's device and inode with the descriptor's before the command starts.
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { fdPath } from "../../lib/confined-dir.ts";
import { O_CLOEXEC, O_PATH } from "../../lib/mount-api.ts";
import { Openat2Error, openat2Available, openBeneath, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV } from "../../lib/openat2.ts";
import { checkRelativePath, PathError } from "../paths/path-resolver.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import { stageFromDescriptors } from "./mount-stage.ts";
import type { MountCheck, MountSpec, SandboxIdentity } from "./sandbox.types.ts";

const STEP = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
const { O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** The overlay schema's target pattern, checked again: targets are spliced into the check script. */
export const MOUNT_TARGET = /^\/mnt(\/(?!\.\.?(\/|$))[A-Za-z0-9._-]+)+$/;

/** Beneath which directory a mount's source is: the tenant's (default), or the operator's skills folder. */
export type MountRoot = "tenant" | "operator-skills";

/** The operator's skills folder, `<home>/skills`: the only root besides the tenant's directory. */
export const OPERATOR_SKILLS_DIR = "skills";

export interface MountRequest {
  source: string;
  target: string;
  readOnly?: boolean;
  root?: MountRoot;
  /**
   * A feature's mount of something that may have just gone (a skill removed or being replaced since it
   * was listed): left out of the run when it does not exist, instead of failing the run. Every other
   * refusal (a link, a mount point, …) still fails it.
   */
  optional?: boolean;
}

export interface MountPlan {
  mounts: MountSpec[];
  /** Identities the sandbox verifies before the command (binds made from a path, not a descriptor). */
  checks: MountCheck[];
  release(): void;
}

interface Opened {
  /** The real path of the root the source was opened beneath. */
  root: string;
  /** The source as errors name it. */
  label: string;
  fd: number;
  kind: "dir" | "file";
  dev: number;
  ino: number;
  segments: string[];
  target: string;
}

/** A source as errors name it: the tenant's relative path, or where it is among the operator's skills. */
const shown = (source: string, root: MountRoot | undefined) => (root === "operator-skills" ? `<home>/${OPERATOR_SKILLS_DIR}/${source}` : source);

function refuse(source: string, why: string, root?: MountRoot): AppError {
  return new AppError("CONFIG_INVALID", `sandbox mount ${JSON.stringify(shown(String(source), root).slice(0, 200))}: ${why}`);
}

function why(err: unknown, root?: MountRoot): string {
  const code = err instanceof Openat2Error ? err.code : (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case "ELOOP":
      return "goes through a symbolic link; links are refused anywhere on a mount source";
    case "EXDEV":
      return root === "operator-skills" ? "crosses a mount point or leaves the operator's skills folder" : "crosses a mount point or leaves the tenant directory";
    case "ENOENT":
      return "does not exist";
    case "ENOTDIR":
      return "a parent component is not a directory";
    default:
      return `cannot be opened (${code ?? String(err)})`;
  }
}

const same = (a: fs.Stats, b: fs.Stats | null) => !!b && a.dev === b.dev && a.ino === b.ino;

/** A root sources are opened beneath: its descriptor (null: it does not exist), real path, and (the tenant's) its workspace. */
interface Base {
  kind: MountRoot;
  fd: number | null;
  path: string;
  workspace: fs.Stats | null;
}

/** Opens one source component by component beneath its root; the caller closes `fd`. Null: an optional source that does not exist. */
function openSource(base: Base, m: MountRequest, seen: Set<string>): Opened | null {
  const root = base.kind;
  const no = (why: string) => refuse(m.source, why, root);
  let segments: string[];
  try {
    segments = checkRelativePath(m.source);
  } catch (err) {
    if (err instanceof PathError) throw no(`${err.message.replace(/^path /, "")} (paths must stay inside the ${root === "tenant" ? "tenant directory" : "operator's skills folder"})`);
    throw err;
  }
  if (segments.length === 0) throw no(root === "tenant" ? "names the tenant directory itself, which holds the workspace" : "names the operator's skills folder itself; mount one skill");
  if (root === "tenant" && segments[0] === "workspace") throw no("is in the workspace, which sandboxes can change (it is at /work already)");
  if (m.readOnly === false) throw no("must be read-only (only /work is writable)");
  if (typeof m.target !== "string" || !MOUNT_TARGET.test(m.target)) throw no(`target ${JSON.stringify(String(m.target).slice(0, 200))} must be a path under /mnt`);
  if (seen.has(m.target)) throw no(`target ${m.target} is used twice`);
  seen.add(m.target);
  if (base.fd === null) {
    if (m.optional) return null;
    throw no("does not exist (there is no operator skills folder)");
  }
  const rootFd = base.fd;
  let dir = rootFd;
  try {
    for (let i = 0; i < segments.length; i++) {
      let next: number;
      try {
        next = openBeneath(dir, segments[i]!, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, STEP);
      } catch (err) {
        if (m.optional && (err as { code?: string }).code === "ENOENT") {
          if (dir !== rootFd) fs.closeSync(dir);
          dir = rootFd;
          return null;
        }
        throw no(why(err, root));
      }
      if (dir !== rootFd) fs.closeSync(dir);
      dir = next;
      const st = fs.fstatSync(next);
      if (st.isSymbolicLink()) throw no(why(new Openat2Error(40, "ELOOP")));
      if (same(st, base.workspace)) throw no("is the workspace, which sandboxes can change (it is at /work already)");
      const last = i === segments.length - 1;
      if (!last && !st.isDirectory()) throw no(why(new Openat2Error(20, "ENOTDIR")));
      if (last) {
        if (!st.isDirectory() && !st.isFile()) throw no("is not a regular file or directory");
        return { root: base.path, label: shown(segments.join("/"), root), fd: next, kind: st.isDirectory() ? "dir" : "file", dev: st.dev, ino: st.ino, segments, target: m.target };
      }
    }
    throw no("is empty");
  } catch (err) {
    if (dir !== rootFd) fs.closeSync(dir);
    throw err;
  }
}

/** Opens the operator's skills folder (no link as its last component, a directory); null when there is none. */
function openOperatorRoot(home: string): number | null {
  try {
    return fs.openSync(path.join(home, OPERATOR_SKILLS_DIR), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    // O_NOFOLLOW | O_DIRECTORY on a link answers ENOTDIR (O_PATH) or ELOOP: say which it is.
    const link = code === "ELOOP" || !!fs.lstatSync(path.join(home, OPERATOR_SKILLS_DIR), { throwIfNoEntry: false })?.isSymbolicLink();
    throw refuse(".", link ? "the operator's skills folder is a symbolic link; links are refused anywhere on a mount source" : why(err, "operator-skills"), "operator-skills");
  }
}

/** Checks every mount as it is on disk now and opens it; throws CONFIG_INVALID naming the first problem. */
export function openMountSources(home: string, tenantId: string, requests: MountRequest[]): { opened: Opened[] } {
  if (!openat2Available()) throw new AppError("UNAVAILABLE", "sandbox mounts need openat2 (Linux 5.6 or later); this kernel does not have it");
  const bases = new Map<MountRoot, Base>();
  const opened: Opened[] = [];
  const base = (kind: MountRoot): Base => {
    let b = bases.get(kind);
    if (b) return b;
    if (kind === "tenant") {
      const fd = fs.openSync(tenantDir(home, tenantId), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      b = { kind, fd, path: "", workspace: null };
      bases.set(kind, b);
      try {
        const w = openBeneath(fd, "workspace", O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, STEP);
        b.workspace = fs.fstatSync(w);
        fs.closeSync(w);
      } catch {
        b.workspace = null; // not created yet: nothing can be inside it
      }
    } else if (kind === "operator-skills") {
      b = { kind, fd: openOperatorRoot(home), path: "", workspace: null };
      bases.set(kind, b);
    } else throw new AppError("INTERNAL", `unknown sandbox mount root ${JSON.stringify(String(kind))}`);
    if (b.fd !== null) b.path = fs.realpathSync(fdPath(b.fd));
    return b;
  };
  try {
    const seen = new Set<string>();
    for (const m of requests) {
      const o = openSource(base(m.root ?? "tenant"), m, seen);
      if (o) opened.push(o);
    }
    return { opened };
  } catch (err) {
    for (const o of opened) fs.closeSync(o.fd);
    throw err;
  } finally {
    for (const b of bases.values()) if (b.fd !== null) fs.closeSync(b.fd);
  }
}

/**
 * The mounts of one run, checked now. A root gateway binds each descriptor under a root-only
 * staging directory; otherwise the checked path is bound and verified in the sandbox. `release()`
 * (after the run) closes the descriptors and removes the staging mounts.
 */
export async function prepareMounts(opts: {
  home: string;
  tenantId: string;
  runId: string;
  requests: MountRequest[];
  identity: SandboxIdentity;
  unsharePath: string | null;
  log: Logger;
}): Promise<MountPlan> {
  if (opts.requests.length === 0) return { mounts: [], checks: [], release() {} };
  const { opened } = openMountSources(opts.home, opts.tenantId, opts.requests);
  if (opened.length === 0) return { mounts: [], checks: [], release() {} };
  const closeAll = () => opened.forEach((o) => fs.closeSync(o.fd));
  if (opts.identity.viaStage) {
    try {
      const sources = opened.map((o) => ({ fd: o.fd, kind: o.kind, label: o.label }));
      const staged = await stageFromDescriptors({ home: opts.home, runId: opts.runId, sources, identity: opts.identity, unsharePath: opts.unsharePath, log: opts.log });
      return {
        mounts: opened.map((o, i) => ({ source: staged.paths[i]!, target: o.target, readOnly: true, kind: o.kind })),
        checks: [],
        release() {
          staged.release();
          closeAll();
        },
      };
    } catch (err) {
      closeAll();
      throw err;
    }
  }
  // The descriptors stay open until the run ends, so no other object can take these inode numbers.
  return {
    mounts: opened.map((o) => ({ source: [o.root, ...o.segments].join("/"), target: o.target, readOnly: true, kind: o.kind })),
    checks: opened.map((o) => ({ target: o.target, id: `${o.dev}:${o.ino}` })),
    release: closeAll,
  };
}

/** First line of stderr when the sandbox found a mount that is not what the gateway checked. */
export const MOUNT_CHANGED = "openclaw: a sandbox mount is not the file or directory the gateway checked; the command was not started";

/** Where the tenant's environment is handed to the check script, as a file it sources. */
export const ENV_FILE_IN_SANDBOX = "/run/oc-env";

/**
 * The command behind the mount check: `stat` of every target must print the checked identities,
 * else the run ends (exit 125) before the tenant's command starts. The tenant's variables are only
 * sourced after the check, so none of them (LD_PRELOAD, say) can reach the programs that check.
 */
export function withMountCheck(checks: MountCheck[], command: string[]): string[] {
  if (checks.length === 0) return command;
  const targets = checks.map((c) => {
    if (!MOUNT_TARGET.test(c.target)) throw new Error(`unexpected mount target ${JSON.stringify(c.target)}`);
    return c.target;
  });
  const script = `got=$(stat -c %d:%i ${targets.join(" ")} 2>/dev/null); if [ "$got" != "$1" ]; then echo "${MOUNT_CHANGED}" >&2; exit 125; fi; shift; . ${ENV_FILE_IN_SANDBOX}; exec "$@"`;
  return ["/bin/sh", "-c", script, "sh", checks.map((c) => c.id).join("\n"), ...command];
}

/** The tenant's variables as `export NAME='value'` lines (names are checked; values may hold anything but NUL). */
export function envScript(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || v.includes("\0")) throw new Error(`unexpected environment variable ${JSON.stringify(k)}`);
      return `export ${k}='${v.replaceAll("'", "'\\''")}'\n`;
    })
    .join("");
}
