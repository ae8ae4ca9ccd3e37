// Classic BPF for seccomp: the few instructions a syscall filter needs, the wire encoding that
// `bwrap --seccomp FD` reads (struct sock_filter, little-endian, 8 bytes each), and an interpreter
// so the gateway can check the program it generated before any sandbox runs with it.

export const BPF_MAXINSNS = 4096;

export const OP = {
  LD_W_ABS: 0x20, // A = *(u32 *)(data + k)
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  JA: 0x05,
  RET_K: 0x06,
  RET_A: 0x16,
  ALU_AND_K: 0x54,
  LD_IMM: 0x00,
  LD_MEM: 0x60,
  ST: 0x02,
  LDX_IMM: 0x01,
  TAX: 0x07,
  TXA: 0x87,
  JEQ_X: 0x1d,
  JGT_X: 0x2d,
  JGE_X: 0x3d,
  JSET_X: 0x4d,
} as const;

export const RET = {
  KILL_PROCESS: 0x80000000,
  ALLOW: 0x7fff0000,
  errno: (e: number) => (0x00050000 | (e & 0xffff)) >>> 0,
} as const;

export const AUDIT_ARCH = {
  X86_64: 0xc000003e,
  AARCH64: 0xc00000b7,
  I386: 0x40000003,
} as const;

/** seccomp_data offsets: nr, arch, then instruction pointer and six 64-bit arguments. */
export const DATA = {
  nr: 0,
  arch: 4,
  argLow: (i: number) => 16 + 8 * i,
  argHigh: (i: number) => 20 + 8 * i,
} as const;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const ld = (offset: number): Insn => ({ code: OP.LD_W_ABS, jt: 0, jf: 0, k: offset });
export const ret = (k: number): Insn => ({ code: OP.RET_K, jt: 0, jf: 0, k: k >>> 0 });
export const jeq = (k: number, jt: number, jf: number): Insn => ({ code: OP.JEQ_K, jt, jf, k: k >>> 0 });
export const jge = (k: number, jt: number, jf: number): Insn => ({ code: OP.JGE_K, jt, jf, k: k >>> 0 });
export const jgt = (k: number, jt: number, jf: number): Insn => ({ code: OP.JGT_K, jt, jf, k: k >>> 0 });
export const jset = (k: number, jt: number, jf: number): Insn => ({ code: OP.JSET_K, jt, jf, k: k >>> 0 });

/** Encodes a program as `struct sock_filter[]` (what seccomp_export_bpf writes). */
export function encode(program: readonly Insn[]): Uint8Array {
  if (program.length === 0 || program.length > BPF_MAXINSNS) throw new Error(`seccomp program has ${program.length} instructions (1..${BPF_MAXINSNS})`);
  const out = new Uint8Array(program.length * 8);
  const view = new DataView(out.buffer);
  program.forEach((insn, i) => {
    if (insn.jt > 255 || insn.jf > 255 || insn.jt < 0 || insn.jf < 0) throw new Error(`seccomp instruction ${i}: jump out of range`);
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, insn.jt);
    view.setUint8(i * 8 + 3, insn.jf);
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return out;
}

export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length % 8 !== 0) throw new Error("seccomp program size is not a multiple of 8");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    out.push({ code: view.getUint16(i, true), jt: view.getUint8(i + 2), jf: view.getUint8(i + 3), k: view.getUint32(i + 4, true) });
  }
  return out;
}

export interface SeccompData {
  nr: number;
  arch: number;
  args?: readonly bigint[];
}

function load(data: SeccompData, offset: number): number {
  if (offset === DATA.nr) return data.nr >>> 0;
  if (offset === DATA.arch) return data.arch >>> 0;
  if (offset >= 16 && offset < 64 && offset % 4 === 0) {
    const i = Math.floor((offset - 16) / 8);
    const v = BigInt.asUintN(64, data.args?.[i] ?? 0n);
    return Number((offset - 16) % 8 === 0 ? v & 0xffffffffn : v >> 32n);
  }
  throw new Error(`seccomp program loads unsupported offset ${offset}`);
}

/** Runs a program the way the kernel would; returns the action word. Rejects backward jumps. */
export function run(program: readonly Insn[], data: SeccompData): number {
  let a = 0;
  let x = 0;
  const mem = new Uint32Array(16);
  let pc = 0;
  let steps = 0;
  while (pc < program.length) {
    if (++steps > BPF_MAXINSNS) throw new Error("seccomp program does not terminate");
    const insn = program[pc]!;
    switch (insn.code) {
      case OP.LD_W_ABS:
        a = load(data, insn.k);
        pc++;
        break;
      case OP.JEQ_K:
        pc += 1 + (a === insn.k ? insn.jt : insn.jf);
        break;
      case OP.JGT_K:
        pc += 1 + (a > insn.k ? insn.jt : insn.jf);
        break;
      case OP.JGE_K:
        pc += 1 + (a >= insn.k ? insn.jt : insn.jf);
        break;
      case OP.JSET_K:
        pc += 1 + ((a & insn.k) !== 0 ? insn.jt : insn.jf);
        break;
      case OP.JA:
        pc += 1 + insn.k;
        break;
      case OP.RET_K:
        return insn.k >>> 0;
      // The rest is what libseccomp emits; the gateway's own programs use only the above.
      case OP.RET_A:
        return a >>> 0;
      case OP.ALU_AND_K:
        a = (a & insn.k) >>> 0;
        pc++;
        break;
      case OP.LD_IMM:
        a = insn.k >>> 0;
        pc++;
        break;
      case OP.LDX_IMM:
        x = insn.k >>> 0;
        pc++;
        break;
      case OP.LD_MEM:
        a = mem[insn.k & 15]!;
        pc++;
        break;
      case OP.ST:
        mem[insn.k & 15] = a;
        pc++;
        break;
      case OP.TAX:
        x = a;
        pc++;
        break;
      case OP.TXA:
        a = x;
        pc++;
        break;
      case OP.JEQ_X:
        pc += 1 + (a === x ? insn.jt : insn.jf);
        break;
      case OP.JGT_X:
        pc += 1 + (a > x ? insn.jt : insn.jf);
        break;
      case OP.JGE_X:
        pc += 1 + (a >= x ? insn.jt : insn.jf);
        break;
      case OP.JSET_X:
        pc += 1 + ((a & x) !== 0 ? insn.jt : insn.jf);
        break;
      default:
        throw new Error(`seccomp program uses unsupported opcode 0x${insn.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("seccomp program falls off its end");
}
