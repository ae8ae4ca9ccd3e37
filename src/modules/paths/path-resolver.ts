// The one path resolver. Every surface that takes a path from a tenant (or names a path inside a
// tenant) goes through here: file tools, plugin loaders, backup/restore entries, overlay file paths,
// sandbox mount specs. It rejects lexically first, then walks the real filesystem component by
// component so a symlink can never lead outside the root.
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../../core/errors.ts";

export type PathProblem =
  | "not_a_string"
  | "empty"
  | "too_long"
  | "absolute"
  | "dot_dot"
  | "backslash"
  | "control_char"
  | "segment_too_long"
  | "symlink_escape"
  | "final_symlink"
  | "not_a_directory"
  | "outside_root";

const MAX_PATH = 4096;
const MAX_SEGMENT = 255;

export class PathError extends AppError {
  readonly problem: PathProblem;
  constructor(problem: PathProblem, input: string, message: string) {
    super("INVALID_PARAMS", message, { details: { problem, path: safeEcho(input) } });
    this.problem = problem;
  }
}

function safeEcho(input: string): string {
  // Never echo control characters back; keep messages one line.
  return input.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, "?");
}

/**
 * Lexical checks on user input, before touching the filesystem. Returns the path's segments
 * (with "." and empty segments dropped). Absolute paths, "..", backslashes, NUL and other control
 * characters are rejected outright rather than normalised away. `maxLength`: longer than the
 * default only for what is never opened as one path (a backup archive's entries: opened by parts).
 */
export function checkRelativePath(input: unknown, maxLength = MAX_PATH): string[] {
  if (typeof input !== "string") throw new PathError("not_a_string", String(input), "path must be a string");
  const shown = JSON.stringify(safeEcho(input));
  if (input.length === 0) throw new PathError("empty", input, "path is empty");
  if (input.length > maxLength) throw new PathError("too_long", input, `path is longer than ${maxLength} characters`);
  if (/[\u0000-\u001f\u007f]/.test(input)) throw new PathError("control_char", input, `path ${shown} contains a NUL or control character`);
  if (input.startsWith("/") || input.startsWith("\\") || /^[A-Za-z]:/.test(input) || input.startsWith("~")) {
    throw new PathError("absolute", input, `path ${shown} is absolute; give a path relative to the tenant root`);
  }
  if (input.includes("\\")) throw new PathError("backslash", input, `path ${shown} contains a backslash`);
  const segments = input.split("/").filter((s) => s !== "" && s !== ".");
  for (const seg of segments) {
    if (seg === "..") throw new PathError("dot_dot", input, `path ${shown} contains ".."`);
    if (Buffer.byteLength(seg) > MAX_SEGMENT) throw new PathError("segment_too_long", input, `path ${shown} has a component longer than ${MAX_SEGMENT} bytes`);
  }
  return segments;
}

export function isInside(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  const base = root.endsWith(path.sep) ? root : root + path.sep;
  return candidate.startsWith(base);
}

export interface ResolveOptions {
  /**
   * "nofollow" (file reads and writes): a symlink as the final component is refused.
   * "inside": a final symlink is allowed only if it resolves inside the root.
   */
  leaf?: "nofollow" | "inside";
  /** Allow the empty path / "." to mean the root itself. */
  allowRoot?: boolean;
}

export interface ResolvedPath {
  /** Absolute path inside the (real) root. */
  absolute: string;
  /** Path relative to the root, "/"-separated; "" for the root. */
  relative: string;
  exists: boolean;
  kind: "file" | "directory" | "symlink" | "other" | "missing";
}

/**
 * Resolves `userPath` against `root`. Intermediate components that are symlinks are followed only
 * while they stay inside the root; a missing component ends the walk (the rest is to be created).
 */
export function resolveInRoot(root: string, userPath: unknown, opts: ResolveOptions = {}): ResolvedPath {
  const leafMode = opts.leaf ?? "nofollow";
  let segments: string[];
  if (opts.allowRoot && (userPath === "" || userPath === ".")) segments = [];
  else segments = checkRelativePath(userPath);
  const input = String(userPath);
  const realRoot = fs.realpathSync(root);

  let current = realRoot;
  let missing = false;
  for (let i = 0; i < segments.length; i++) {
    const next = path.join(current, segments[i]!);
    const isLeaf = i === segments.length - 1;
    if (missing) {
      current = next;
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.lstatSync(next);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        missing = true;
        current = next;
        continue;
      }
      if ((err as NodeJS.ErrnoException).code === "ENOTDIR") {
        throw new PathError("not_a_directory", input, `path ${JSON.stringify(safeEcho(input))}: a parent component is not a directory`);
      }
      throw err;
    }
    if (st.isSymbolicLink()) {
      if (isLeaf && leafMode === "nofollow") {
        throw new PathError("final_symlink", input, `path ${JSON.stringify(safeEcho(input))} is a symbolic link; links are not followed`);
      }
      let target: string;
      try {
        target = fs.realpathSync(next);
      } catch {
        throw new PathError("symlink_escape", input, `path ${JSON.stringify(safeEcho(input))} goes through a dangling symbolic link`);
      }
      if (!isInside(realRoot, target)) {
        throw new PathError("symlink_escape", input, `path ${JSON.stringify(safeEcho(input))} goes through a symbolic link that leads outside the tenant root`);
      }
      current = target;
      continue;
    }
    if (!isLeaf && !st.isDirectory()) {
      throw new PathError("not_a_directory", input, `path ${JSON.stringify(safeEcho(input))}: "${segments.slice(0, i + 1).join("/")}" is not a directory`);
    }
    current = next;
  }
  if (!isInside(realRoot, current)) {
    throw new PathError("outside_root", input, `path ${JSON.stringify(safeEcho(input))} resolves outside the tenant root`);
  }
  let kind: ResolvedPath["kind"] = "missing";
  if (!missing) {
    const st = fs.lstatSync(current);
    kind = st.isFile() ? "file" : st.isDirectory() ? "directory" : st.isSymbolicLink() ? "symlink" : "other";
  }
  return {
    absolute: current,
    relative: path.relative(realRoot, current).split(path.sep).join("/"),
    exists: !missing,
    kind,
  };
}

/**
 * Opens a resolved path without following a final symlink, then checks that the descriptor is the
 * file the resolver saw (same device and inode), which closes the leaf's check-then-use race.
 */
export function openInRoot(root: string, userPath: unknown, flags: number, mode = 0o600): { fd: number; resolved: ResolvedPath } {
  const resolved = resolveInRoot(root, userPath, { leaf: "nofollow" });
  const before = resolved.exists ? fs.lstatSync(resolved.absolute) : null;
  const fd = fs.openSync(resolved.absolute, flags | fs.constants.O_NOFOLLOW, mode);
  try {
    const after = fs.fstatSync(fd);
    if (before && (before.dev !== after.dev || before.ino !== after.ino)) {
      throw new PathError("final_symlink", String(userPath), "path changed while it was being opened");
    }
    const again = fs.realpathSync(resolved.absolute);
    if (!isInside(fs.realpathSync(root), again)) {
      throw new PathError("outside_root", String(userPath), "path resolves outside the tenant root");
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return { fd, resolved };
}
