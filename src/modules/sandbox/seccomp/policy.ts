// The sandbox syscall policy, written once and compiled two ways: a classic-BPF deny-list program
// for `bwrap --seccomp` and a default-deny Docker/OCI profile. The composition follows
// ../shared/reference/sandbox.md §3.7: flatpak's list, Docker's capability-gated set, the agent
// sandboxes' extras (io_uring, bpf, userfaultfd, keyrings, ptrace, process_vm_*), TIOCSTI and
// TIOCLINUX on the low 32 bits of the ioctl command, clone with namespace flags, clone3 → ENOSYS,
// a socket-family allow-list, and only the native architecture (x32 and i386 are killed).
import { AUDIT_ARCH, DATA, encode, jeq, jge, jgt, jset, ld, ret, RET, run, type Insn } from "./bpf.ts";
import { AARCH64_SYSCALLS, X86_64_SYSCALLS } from "./syscalls.generated.ts";

const EPERM = 1;
const ENOSYS = 38;
const EOPNOTSUPP = 95;
const EAFNOSUPPORT = 97;

/** Denied outright (EPERM). Names missing on an architecture are skipped for it. */
export const DENIED_SYSCALLS = [
  // flatpak's list
  "syslog", "uselib", "acct", "quotactl", "quotactl_fd",
  "add_key", "keyctl", "request_key",
  "move_pages", "mbind", "get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "migrate_pages",
  "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot",
  "perf_event_open", "ptrace", "modify_ldt",
  // Docker's capability-gated set
  "bpf", "fanotify_init", "lookup_dcookie", "sethostname", "setdomainname", "reboot",
  "init_module", "finit_module", "delete_module", "kcmp", "pidfd_getfd", "process_madvise",
  "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "vhangup",
  "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff", "nfsservctl",
  "create_module", "get_kernel_syms", "query_module", "_sysctl", "afs_syscall", "tuxcall", "security", "vserver",
  // the agent sandboxes' extras
  "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
  "kexec_load", "kexec_file_load", "process_vm_readv", "process_vm_writev",
] as const;

/** Answered with ENOSYS so libc falls back to calls the filter can inspect (or gives up cleanly). */
export const ENOSYS_SYSCALLS = [
  "clone3", "open_tree", "open_tree_attr", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
] as const;

/**
 * Answered with EOPNOTSUPP, as a filesystem without the feature would: fallocate reserves any amount
 * of disk in one call, faster than the disk watchdog can look (see disk.ts); glibc's posix_fallocate
 * then falls back to writing, which the watchdog and RLIMIT_FSIZE keep up with.
 */
export const EOPNOTSUPP_SYSCALLS = ["fallocate"] as const;

/** clone(2) flags that create namespaces: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
export const CLONE_NS_MASK = 0x7e020000;
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
/** socket(2) families allowed: AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK. */
export const ALLOWED_SOCKET_FAMILIES = [0, 1, 2, 10, 16] as const;
/** personality(2) values allowed (Docker's set): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query. */
export const ALLOWED_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff] as const;

export type SeccompArch = "x86_64" | "aarch64";

interface ArchInfo {
  audit: number;
  table: Readonly<Record<string, number>>;
  /** x86_64 only: syscall numbers at or above this are the x32 ABI. */
  x32Bit?: number;
}

const ARCHES: Record<SeccompArch, ArchInfo> = {
  x86_64: { audit: AUDIT_ARCH.X86_64, table: X86_64_SYSCALLS, x32Bit: 0x40000000 },
  aarch64: { audit: AUDIT_ARCH.AARCH64, table: AARCH64_SYSCALLS },
};

export function hostSeccompArch(): SeccompArch | null {
  if (process.arch === "x64") return "x86_64";
  if (process.arch === "arm64") return "aarch64";
  return null;
}

function numbers(arch: SeccompArch, names: readonly string[]): number[] {
  const table = ARCHES[arch].table;
  return [...new Set(names.filter((n) => n in table).map((n) => table[n]!))].sort((a, b) => a - b);
}

/** Emits "if A == nr: run block" where the block is inlined right after the test. */
function guarded(nr: number, block: Insn[]): Insn[] {
  if (block.length > 255) throw new Error("seccomp block too long");
  return [jeq(nr, 0, block.length), ...block];
}

/** ret `onMatch` if the low 32 bits of argument `arg` equal one of `values`, else `otherwise`. */
function argIn(arg: number, values: readonly number[], onMatch: number, otherwise: number): Insn[] {
  const out: Insn[] = [ld(DATA.argLow(arg))];
  values.forEach((v, i) => out.push(jeq(v, values.length - i, 0)));
  out.push(ret(otherwise), ret(onMatch));
  return out;
}

/** Builds the bwrap filter: a deny list over a default of ALLOW, for one native architecture. */
export function buildFilter(arch: SeccompArch): Insn[] {
  const info = ARCHES[arch];
  const table = info.table;
  const maxKnown = Math.max(...Object.values(table));
  const p: Insn[] = [];
  // Only the native ABI: a different audit arch (i386 through int 0x80, arm32 compat) is killed.
  p.push(ld(DATA.arch), jeq(info.audit, 1, 0), ret(RET.KILL_PROCESS));
  p.push(ld(DATA.nr));
  // x32 syscalls arrive as AUDIT_ARCH_X86_64 with bit 30 set; a deny list keyed on plain numbers
  // would miss them, so the whole ABI is killed.
  if (info.x32Bit) p.push(jge(info.x32Bit, 0, 1), ret(RET.KILL_PROCESS));
  // Syscalls newer than this table are unknown to the policy: ENOSYS, never a silent allow.
  p.push(jgt(maxKnown, 0, 1), ret(RET.errno(ENOSYS)));
  for (const nr of numbers(arch, DENIED_SYSCALLS)) p.push(...guarded(nr, [ret(RET.errno(EPERM))]));
  for (const nr of numbers(arch, ENOSYS_SYSCALLS)) p.push(...guarded(nr, [ret(RET.errno(ENOSYS))]));
  for (const nr of numbers(arch, EOPNOTSUPP_SYSCALLS)) p.push(...guarded(nr, [ret(RET.errno(EOPNOTSUPP))]));
  // clone: any namespace flag in the low 32 bits of flags (arg 0 on x86_64 and aarch64) → EPERM.
  p.push(...guarded(table.clone!, [ld(DATA.argLow(0)), jset(CLONE_NS_MASK, 0, 1), ret(RET.errno(EPERM)), ret(RET.ALLOW)]));
  // ioctl: the command is an unsigned int, so only its low 32 bits count (CVE-2019-10063).
  p.push(...guarded(table.ioctl!, argIn(1, [TIOCSTI, TIOCLINUX], RET.errno(EPERM), RET.ALLOW)));
  p.push(...guarded(table.socket!, argIn(0, ALLOWED_SOCKET_FAMILIES, RET.ALLOW, RET.errno(EAFNOSUPPORT))));
  p.push(...guarded(table.personality!, argIn(0, ALLOWED_PERSONALITIES, RET.ALLOW, RET.errno(EPERM))));
  p.push(ret(RET.ALLOW));
  return p;
}

export function filterBytes(arch: SeccompArch): Uint8Array {
  return encode(buildFilter(arch));
}

// ---------------------------------------------------------------------------------------------
// Docker / OCI profile: default deny, every other known syscall allowed, the same special cases.

const SCMP_ARCH: Record<SeccompArch, string> = { x86_64: "SCMP_ARCH_X86_64", aarch64: "SCMP_ARCH_AARCH64" };

/**
 * `gvisor`: gVisor's OCI seccomp ignores errnoRet (every errno rule answers EPERM), which would make
 * glibc's clone3 → clone fallback fail; gVisor does not implement clone3 (it answers ENOSYS itself),
 * so for gVisor runtimes clone3 is passed through to that ENOSYS instead of being ruled here.
 */
export function dockerProfile(arch: SeccompArch, opts: { gvisor?: boolean } = {}): Record<string, unknown> {
  const table = ARCHES[arch].table;
  const special = new Set<string>(["clone", "clone3", "ioctl", "socket", "personality", ...DENIED_SYSCALLS, ...ENOSYS_SYSCALLS, ...EOPNOTSUPP_SYSCALLS]);
  const allowed = Object.keys(table).filter((n) => !special.has(n)).sort();
  const eq = (index: number, value: number) => ({ index, value, valueTwo: 0, op: "SCMP_CMP_EQ" });
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    architectures: [SCMP_ARCH[arch]],
    syscalls: [
      { names: allowed, action: "SCMP_ACT_ALLOW" },
      { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: CLONE_NS_MASK, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
      { names: ENOSYS_SYSCALLS.filter((n) => !(opts.gvisor && n === "clone3")), action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
      ...(opts.gvisor ? [{ names: ["clone3"], action: "SCMP_ACT_ALLOW" }] : []),
      { names: [...EOPNOTSUPP_SYSCALLS], action: "SCMP_ACT_ERRNO", errnoRet: EOPNOTSUPP },
      ...ALLOWED_SOCKET_FAMILIES.filter((f) => f !== 0).map((f) => ({ names: ["socket"], action: "SCMP_ACT_ALLOW", args: [eq(0, f)] })),
      ...ALLOWED_PERSONALITIES.map((v) => ({ names: ["personality"], action: "SCMP_ACT_ALLOW", args: [eq(0, v)] })),
      ...ioctlAllowRules(),
    ],
  };
}

/** The profile as JSON, with 64-bit argument values written exactly (they exceed a double). */
export function dockerProfileText(arch: SeccompArch, opts: { gvisor?: boolean } = {}): string {
  const text = JSON.stringify(dockerProfile(arch, opts), (_k, v) => (typeof v === "bigint" ? `\u0000u64:${v}` : v), 1);
  return text.replace(/"\\u0000u64:(\d+)"/g, "$1");
}

/**
 * ioctl is allowed for every command except TIOCSTI and TIOCLINUX, judged on the low 32 bits the
 * kernel uses (CVE-2019-10063). libseccomp has no masked "not equal" and lets an unconditional allow
 * override conditional denies, so the allowed set is spelled out as masked-equal rules: commands whose
 * bits above bit 3 differ from the two denied ones (one rule per differing bit), plus the other 14
 * values of the shared prefix. The upper 32 bits must be all zero or all one (sign extension); any
 * other junk there is refused.
 */
export function ioctlAllowRules(): Record<string, unknown>[] {
  const denied = [TIOCSTI, TIOCLINUX];
  const prefix = TIOCSTI >>> 4;
  if (denied.some((d) => d >>> 4 !== prefix)) throw new Error("TIOCSTI and TIOCLINUX no longer share a prefix");
  const rules: Record<string, unknown>[] = [];
  const rule = (high: bigint, mask: number, value: number) => ({
    names: ["ioctl"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 1, value: (0xffffffffn << 32n) | BigInt(mask >>> 0), valueTwo: (high << 32n) | BigInt(value >>> 0), op: "SCMP_CMP_MASKED_EQ" }],
  });
  for (const high of [0n, 0xffffffffn]) {
    for (let bit = 4; bit < 32; bit++) {
      // Agree with the denied prefix above `bit`, differ at `bit`.
      const mask = (0xffffffff << bit) >>> 0;
      const value = ((((prefix << 4) >>> 0) & mask) ^ (1 << bit)) >>> 0;
      rules.push(rule(high, mask, value & mask));
    }
    for (let low = 0; low < 16; low++) {
      const v = ((prefix << 4) | low) >>> 0;
      if (!denied.includes(v)) rules.push(rule(high, 0xffffffff, v));
    }
  }
  return rules;
}

// ---------------------------------------------------------------------------------------------
// Self-test: the generated program must give the right answer for every case that matters.

export interface SelfTestResult {
  ok: boolean;
  instructions: number;
  failures: string[];
}

export function selfTest(arch: SeccompArch): SelfTestResult {
  let program: Insn[];
  try {
    program = buildFilter(arch);
  } catch (err) {
    return { ok: false, instructions: 0, failures: [`cannot build the filter: ${err instanceof Error ? err.message : String(err)}`] };
  }
  return selfTestProgram(arch, program);
}

/** Checks a program against the cases that matter (exported so a broken program can be shown to fail). */
export function selfTestProgram(arch: SeccompArch, program: Insn[]): SelfTestResult {
  const failures: string[] = [];
  try {
    const bytes = encode(program);
    if (bytes.length % 8 !== 0) failures.push("program size is not a multiple of 8");
  } catch (err) {
    return { ok: false, instructions: program.length, failures: [`cannot encode the filter: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const info = ARCHES[arch];
  const t = info.table;
  const expect = (label: string, nr: number, args: bigint[], want: number, archWord = info.audit) => {
    let got: number;
    try {
      got = run(program, { nr, arch: archWord, args });
    } catch (err) {
      failures.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (got !== want >>> 0) failures.push(`${label}: expected 0x${(want >>> 0).toString(16)}, got 0x${got.toString(16)}`);
  };
  const HIGH = 1n << 32n;
  expect("read allowed", t.read!, [], RET.ALLOW);
  expect("foreign architecture killed", t.read!, [], RET.KILL_PROCESS, arch === "x86_64" ? AUDIT_ARCH.I386 : AUDIT_ARCH.X86_64);
  if (info.x32Bit) expect("x32 ABI killed", (info.x32Bit | t.read!) >>> 0, [], RET.KILL_PROCESS);
  expect("unknown future syscall gets ENOSYS", 999, [], RET.errno(ENOSYS));
  for (const name of DENIED_SYSCALLS) if (name in t) expect(`${name} denied`, t[name]!, [], RET.errno(EPERM));
  for (const name of ENOSYS_SYSCALLS) if (name in t) expect(`${name} gets ENOSYS`, t[name]!, [], RET.errno(ENOSYS));
  for (const name of EOPNOTSUPP_SYSCALLS) if (name in t) expect(`${name} gets EOPNOTSUPP`, t[name]!, [], RET.errno(EOPNOTSUPP));
  expect("clone(CLONE_NEWUSER) denied", t.clone!, [0x10000000n], RET.errno(EPERM));
  expect("clone(CLONE_NEWNS | high junk) denied", t.clone!, [HIGH | 0x20000n], RET.errno(EPERM));
  expect("clone(thread flags) allowed", t.clone!, [0x3d0f00n], RET.ALLOW);
  expect("ioctl(TIOCSTI) denied", t.ioctl!, [0n, BigInt(TIOCSTI)], RET.errno(EPERM));
  expect("ioctl(TIOCSTI | high junk) denied", t.ioctl!, [0n, HIGH | BigInt(TIOCSTI)], RET.errno(EPERM));
  expect("ioctl(TIOCLINUX) denied", t.ioctl!, [0n, BigInt(TIOCLINUX)], RET.errno(EPERM));
  expect("ioctl(FIONREAD) allowed", t.ioctl!, [0n, 0x541bn], RET.ALLOW);
  expect("socket(AF_INET) allowed", t.socket!, [2n], RET.ALLOW);
  expect("socket(AF_UNIX) allowed", t.socket!, [1n], RET.ALLOW);
  expect("socket(AF_PACKET) refused", t.socket!, [17n], RET.errno(EAFNOSUPPORT));
  expect("socket(AF_VSOCK) refused", t.socket!, [40n], RET.errno(EAFNOSUPPORT));
  expect("socket(AF_ALG) refused", t.socket!, [38n], RET.errno(EAFNOSUPPORT));
  expect("socket(AF_PACKET | high bits) refused", t.socket!, [HIGH | 17n], RET.errno(EAFNOSUPPORT));
  expect("personality(PER_LINUX) allowed", t.personality!, [0n], RET.ALLOW);
  expect("personality(READ_IMPLIES_EXEC) denied", t.personality!, [0x0400000n], RET.errno(EPERM));
  return { ok: failures.length === 0, instructions: program.length, failures };
}
