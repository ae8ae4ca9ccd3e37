// A directory held by its descriptor. Everything below it is reached relative to that descriptor —
// with openat2 beneath it, or through the descriptor's own path (/proc/self/fd/<fd>/<name>) — so once
// the directory is open, nothing that swaps a component of its path for a link can redirect what is
// read or written below it. The file tools, backups (reading a tenant's tree, confining a target),
// sandbox mounts and the disk measurements all work this way.
import fs from "node:fs";
import { openBeneath, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from "./openat2.ts";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** Flags of a directory opened for reading, refusing a link in its place. */
export const DIR_NOFOLLOW = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** Every step beneath the directory, and no symbolic link anywhere on the way. */
export const STRICTLY_BENEATH = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

/** The path of an open descriptor, or of `name` in the directory it holds (resolved through the descriptor). */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** lstat of `name` in the directory `dirFd` holds; undefined when there is none. */
export function lstatAt(dirFd: number, name: string): fs.Stats | undefined {
  return fs.lstatSync(fdPath(dirFd, name), { throwIfNoEntry: false });
}

/** Opens the directory `rel` beneath `dirFd`: no step may leave it, and (by default) no link is followed. */
export function openDirBeneath(dirFd: number, rel: string, resolve = STRICTLY_BENEATH): number {
  return openBeneath(dirFd, rel, DIR_NOFOLLOW, 0, resolve);
}
