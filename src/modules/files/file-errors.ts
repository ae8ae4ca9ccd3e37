// What the file tools say about a path: its kind and stat, shown safely in a message, and the kernel's
// refusals (openat2's EXDEV for a link leading out, ELOOP for a final link, …) in the path resolver's
// vocabulary, so callers see one set of errors whatever refused them.
import type fs from "node:fs";
import { AppError } from "../../core/errors.ts";
import { Openat2Error } from "../../lib/openat2.ts";
import { PathError } from "../paths/path-resolver.ts";

export type FileKind = "file" | "directory" | "symlink" | "other";

export interface FileStat {
  path: string;
  kind: FileKind;
  size: number;
  mtime: string;
  mode: string;
  target?: string;
}

export function kindOf(st: fs.Stats): FileKind {
  return st.isFile() ? "file" : st.isDirectory() ? "directory" : st.isSymbolicLink() ? "symlink" : "other";
}

/** A path for a message: at most 200 characters, control characters replaced. */
export function shown(p: string): string {
  return JSON.stringify(p.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, "?"));
}

/** Maps kernel refusals to the resolver's errors, so callers see one vocabulary. */
export function translate(err: unknown, userPath: string): never {
  if (err instanceof Openat2Error || (err as NodeJS.ErrnoException)?.code) {
    const code = err instanceof Openat2Error ? err.code : (err as NodeJS.ErrnoException).code;
    switch (code) {
      case "EXDEV":
        throw new PathError("symlink_escape", userPath, `path ${shown(userPath)} goes through a symbolic link that leads outside the workspace`);
      case "ELOOP":
        throw new PathError("final_symlink", userPath, `path ${shown(userPath)} is a symbolic link; links are not followed`);
      case "ENOENT":
        throw new AppError("NOT_FOUND", `${shown(userPath)} does not exist`);
      case "ENOTDIR":
        throw new PathError("not_a_directory", userPath, `path ${shown(userPath)}: a parent component is not a directory`);
      case "EISDIR":
        throw new AppError("CONFLICT", `${shown(userPath)} is a directory`);
      case "EEXIST":
        throw new AppError("CONFLICT", `${shown(userPath)} already exists`);
      case "ENOTEMPTY":
        throw new AppError("CONFLICT", `${shown(userPath)} is a directory that is not empty (pass recursive)`);
      case "ENOSPC":
      case "EDQUOT":
        throw new AppError("PAYLOAD_TOO_LARGE", "no space left for the workspace");
      case "ENAMETOOLONG":
        throw new PathError("too_long", userPath, `path ${shown(userPath)} is too long`);
    }
  }
  throw err;
}
