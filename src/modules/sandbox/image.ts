// `openclaw sandbox image build`: a minimal local image for docker mode, with no registry. The root
// filesystem is assembled from host files — a static busybox for the shell and tools, the C library
// the gateway binary needs (so the egress bridge can run inside), CA certificates — packed with a
// reproducible tar and loaded with `docker import`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AppError } from "../../core/errors.ts";

export interface ImageBuildOptions {
  tag: string;
  /** Extra host binaries to copy in, with the shared libraries `ldd` says they need. */
  include?: string[];
  dockerPath?: string;
  log?(line: string): void;
}

export interface ImageBuildResult {
  tag: string;
  id: string;
  files: number;
  bytes: number;
}

function sh(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new AppError("UNAVAILABLE", `${path.basename(argv[0]!)} failed: ${r.stderr.toString().trim().split("\n")[0] ?? ""}`);
  return r.stdout.toString();
}

/** Absolute paths of the shared libraries (and the loader) a dynamically linked binary needs. */
export function sharedLibraries(binary: string): string[] {
  const r = Bun.spawnSync(["ldd", binary], { stdout: "pipe", stderr: "pipe" });
  const text = r.stdout.toString();
  if (r.exitCode !== 0 || /not a dynamic executable|statically linked/.test(text + r.stderr.toString())) return [];
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) out.add(m[1]!);
  }
  return [...out];
}

function copyInto(root: string, hostPath: string, mode?: number): void {
  const dest = path.join(root, hostPath);
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
  fs.copyFileSync(fs.realpathSync(hostPath), dest);
  fs.chmodSync(dest, mode ?? (fs.statSync(hostPath).mode & 0o755));
}

export async function buildSandboxImage(opts: ImageBuildOptions): Promise<ImageBuildResult> {
  const docker = opts.dockerPath ?? Bun.which("docker");
  if (!docker) throw new AppError("UNAVAILABLE", "docker is not installed");
  const busybox = Bun.which("busybox");
  if (!busybox) throw new AppError("UNAVAILABLE", "busybox is not installed (apt-get install busybox-static)");
  const log = opts.log ?? (() => {});
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-image-"));
  fs.chmodSync(root, 0o755);
  try {
    for (const d of ["bin", "etc", "tmp", "work", "run", "proc", "dev", "sys", "root"]) fs.mkdirSync(path.join(root, d), { mode: 0o755 });
    fs.chmodSync(path.join(root, "tmp"), 0o1777);
    fs.copyFileSync(fs.realpathSync(busybox), path.join(root, "bin/busybox"));
    fs.chmodSync(path.join(root, "bin/busybox"), 0o755);
    if (sharedLibraries(busybox).length > 0) throw new AppError("UNAVAILABLE", `${busybox} is not statically linked (apt-get install busybox-static)`);
    const applets = sh([busybox, "--list"]).split("\n").filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== "busybox");
    for (const a of applets) fs.symlinkSync("busybox", path.join(root, "bin", a));
    fs.symlinkSync("bin", path.join(root, "sbin"));
    fs.mkdirSync(path.join(root, "usr"), { mode: 0o755 });
    fs.symlinkSync("../bin", path.join(root, "usr/bin"));
    fs.symlinkSync("../bin", path.join(root, "usr/sbin"));
    // The C library of the gateway binary: the egress bridge runs inside from a read-only mount.
    for (const lib of sharedLibraries(process.execPath)) copyInto(root, lib, 0o755);
    for (const extra of opts.include ?? []) {
      if (!path.isAbsolute(extra) || !fs.existsSync(extra)) throw new AppError("INVALID_PARAMS", `--include ${extra}: not an existing absolute path`);
      copyInto(root, extra);
      for (const lib of sharedLibraries(extra)) copyInto(root, lib, 0o755);
    }
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const users = ["root:x:0:0:root:/root:/bin/sh", "nobody:x:65534:65534:nobody:/work:/bin/sh"];
    const groups = ["root:x:0:", "nogroup:x:65534:"];
    if (uid !== 0 && uid !== 65534) users.push(`sandbox:x:${uid}:${gid}:sandbox:/work:/bin/sh`);
    if (gid !== 0 && gid !== 65534) groups.push(`sandbox:x:${gid}:`);
    fs.writeFileSync(path.join(root, "etc/passwd"), `${users.join("\n")}\n`, { mode: 0o644 });
    fs.writeFileSync(path.join(root, "etc/group"), `${groups.join("\n")}\n`, { mode: 0o644 });
    fs.writeFileSync(path.join(root, "etc/hostname"), "sandbox\n", { mode: 0o644 });
    for (const ca of ["/etc/ssl/certs/ca-certificates.crt"]) if (fs.existsSync(ca)) copyInto(root, ca, 0o644);
    // Modes are set explicitly: the gateway runs with umask 077, and a 0700 directory in the image
    // would lock the non-root sandbox user (and docker-init) out.
    let files = 0;
    let bytes = 0;
    for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
      const p = path.join(entry.parentPath, entry.name);
      if (entry.isDirectory()) fs.chmodSync(p, p === path.join(root, "tmp") ? 0o1777 : 0o755);
      else if (entry.isFile()) {
        files++;
        bytes += fs.statSync(p).size;
        if ((fs.statSync(p).mode & 0o111) === 0) fs.chmodSync(p, 0o644);
      }
    }
    log(`root filesystem: ${files} files, ${(bytes / 1e6).toFixed(1)} MB; importing as ${opts.tag}`);
    const tar = Bun.spawn(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", root, "-cf", "-", "."], { stdout: "pipe", stderr: "pipe" });
    const imp = Bun.spawn([docker, "import", "--change", 'CMD ["/bin/sh"]', "--change", "WORKDIR /work", "-", opts.tag], { stdin: tar.stdout, stdout: "pipe", stderr: "pipe" });
    const [tarCode, impCode] = await Promise.all([tar.exited, imp.exited]);
    // docker import first: when it fails (no daemon, say), tar only sees its pipe closed.
    if (impCode !== 0) throw new AppError("UNAVAILABLE", `docker import failed: ${(await new Response(imp.stderr).text()).trim()}`);
    if (tarCode !== 0) throw new AppError("UNAVAILABLE", `tar failed: ${(await new Response(tar.stderr).text()).trim()}`);
    const id = (await new Response(imp.stdout).text()).trim();
    return { tag: opts.tag, id, files, bytes };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
