// Cross-check against libseccomp: the same policy built with libseccomp (through bun:ffi) and
// exported as BPF must give the same action as our generated program for every syscall and argument
// pattern that both can express. A disagreement means one of them is wrong.
import { describe, expect, test } from "bun:test";
import { dlopen, FFIType, ptr } from "bun:ffi";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { AUDIT_ARCH, decode, RET, run } from "../../../src/modules/sandbox/seccomp/bpf.ts";
import { buildFilter, CLONE_NS_MASK, DENIED_SYSCALLS, ENOSYS_SYSCALLS, EOPNOTSUPP_SYSCALLS, TIOCLINUX, TIOCSTI } from "../../../src/modules/sandbox/seccomp/policy.ts";
import { X86_64_SYSCALLS } from "../../../src/modules/sandbox/seccomp/syscalls.generated.ts";

const SCMP_ACT_ALLOW = 0x7fff0000;
const SCMP_ACT_KILL_PROCESS = 0x80000000;
const SCMP_FLTATR_ACT_BADARCH = 2;
const SCMP_CMP_MASKED_EQ = 7;
const errno = (e: number) => (0x00050000 | e) >>> 0;

function libseccompProgram(): Uint8Array {
  const lib = dlopen("libseccomp.so.2", {
    seccomp_init: { args: [FFIType.u32], returns: FFIType.ptr },
    seccomp_attr_set: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
    seccomp_rule_add_array: { args: [FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
    seccomp_export_bpf: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    seccomp_release: { args: [FFIType.ptr], returns: FFIType.void },
  });
  const s = lib.symbols;
  const ctx = s.seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) throw new Error("seccomp_init failed");
  expect(s.seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)).toBe(0);
  const add = (action: number, name: string, cmps: [number, number, bigint, bigint][] = []) => {
    const nr = X86_64_SYSCALLS[name];
    if (nr === undefined) return;
    const buf = new ArrayBuffer(Math.max(1, cmps.length) * 24);
    const view = new DataView(buf);
    cmps.forEach(([arg, op, a, b], i) => {
      view.setUint32(i * 24, arg, true);
      view.setUint32(i * 24 + 4, op, true);
      view.setBigUint64(i * 24 + 8, a, true);
      view.setBigUint64(i * 24 + 16, b, true);
    });
    const rc = s.seccomp_rule_add_array(ctx, action, nr, cmps.length, ptr(buf));
    if (rc !== 0) throw new Error(`seccomp_rule_add_array(${name}) = ${rc}`);
  };
  for (const name of DENIED_SYSCALLS) add(errno(1), name);
  for (const name of ENOSYS_SYSCALLS) add(errno(38), name);
  for (const name of EOPNOTSUPP_SYSCALLS) add(errno(95), name);
  for (let bit = 0; bit < 32; bit++) {
    const flag = 1 << bit;
    if ((CLONE_NS_MASK & flag) !== 0) add(errno(1), "clone", [[0, SCMP_CMP_MASKED_EQ, BigInt(flag >>> 0), BigInt(flag >>> 0)]]);
  }
  for (const cmd of [TIOCSTI, TIOCLINUX]) add(errno(1), "ioctl", [[1, SCMP_CMP_MASKED_EQ, 0xffffffffn, BigInt(cmd)]]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "libseccomp-")), "filter.bpf");
  const fd = fs.openSync(file, "w");
  expect(s.seccomp_export_bpf(ctx, fd)).toBe(0);
  fs.closeSync(fd);
  s.seccomp_release(ctx);
  lib.close();
  return new Uint8Array(fs.readFileSync(file));
}

describe.if(process.arch === "x64")("libseccomp cross-check (x86_64)", () => {
  test("our program and libseccomp's agree on every syscall, argument and ABI tried", () => {
    const theirs = decode(libseccompProgram());
    const ours = buildFilter("x86_64");
    // socket and personality are allow-listed by value in ours, which libseccomp cannot say without
    // one rule per refused value; syscalls beyond the table are ENOSYS in ours and ALLOW in theirs.
    const comparable = Object.entries(X86_64_SYSCALLS).filter(([n]) => n !== "socket" && n !== "personality");
    const junk = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    const special = fc.constantFrom(0n, BigInt(TIOCSTI), BigInt(TIOCLINUX), (1n << 32n) | BigInt(TIOCSTI), 0x10000000n, 0x20000n, 0x3d0f00n, (7n << 32n) | 0x40000000n);
    let compared = 0;
    fc.assert(
      fc.property(fc.constantFrom(...comparable), fc.array(fc.oneof(junk, special), { minLength: 6, maxLength: 6 }), ([name, nr], args) => {
        const a = run(ours, { nr, arch: AUDIT_ARCH.X86_64, args });
        const b = run(theirs, { nr, arch: AUDIT_ARCH.X86_64, args });
        compared++;
        expect({ name, args: args.map(String), action: a.toString(16) }).toEqual({ name, args: args.map(String), action: b.toString(16) });
      }),
      { numRuns: 20_000 },
    );
    expect(compared).toBe(20_000);
    for (const [nr, arch] of [
      [0x40000000 | 39, AUDIT_ARCH.X86_64],
      [20, AUDIT_ARCH.I386],
      [0, AUDIT_ARCH.AARCH64],
    ] as const) {
      expect(run(ours, { nr, arch })).toBe(RET.KILL_PROCESS);
      expect(run(theirs, { nr, arch })).toBe(RET.KILL_PROCESS);
    }
  });
});
