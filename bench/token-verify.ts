// Token verifications per second, in process, beside the irreducible crypto of the same check
// (SHA-256 of the token + a 32-byte constant-time compare) measured in the same run.
// Usage: bun bench/token-verify.ts [--runs 5] [--seconds 1]
import { timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readEnvironment } from "../src/config/env.ts";
import { createCore } from "../src/app/core.ts";
import { silentLogger } from "../src/core/logger.ts";
import { sha256 } from "../src/lib/token-format.ts";
import { saveResult } from "./lib.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const runs = arg("--runs", 5);
const seconds = arg("--seconds", 1);

const home = fs.mkdtempSync(path.join(os.tmpdir(), "bench-verify-"));
const core = createCore({ home, env: readEnvironment({}), log: silentLogger() });
const ctx = { actor: { kind: "operator" as const, id: "bench" }, requestId: "bench" };
const tokens: string[] = [];
for (let i = 0; i < 100; i++) tokens.push(core.tenants.create({ id: `t${i}` }, ctx).token);
const stored = tokens.map((t) => sha256(t));

function opsPerSecond(fn: (i: number) => void): number {
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < deadline) {
    for (let k = 0; k < 1000; k++) fn(n + k);
    n += 1000;
  }
  return n / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const verify: number[] = [];
const baseline: number[] = [];
for (let r = 0; r < runs; r++) {
  // Alternate the two so machine noise hits both alike.
  verify.push(
    opsPerSecond((i) => {
      if (!core.tokens.verify(tokens[i % 100]!).ok) throw new Error("verify failed");
    }),
  );
  baseline.push(
    opsPerSecond((i) => {
      if (!timingSafeEqual(sha256(tokens[i % 100]!), stored[i % 100]!)) throw new Error("compare failed");
    }),
  );
}
const result = {
  benchmark: "token-verify",
  date: new Date().toISOString(),
  bun: Bun.version,
  cpus: os.cpus().length,
  runs,
  secondsPerRun: seconds,
  verifyOpsPerSec: Math.round(median(verify)),
  baselineSha256CompareOpsPerSec: Math.round(median(baseline)),
  ratio: Number((median(verify) / median(baseline)).toFixed(3)),
  perVerifyMicroseconds: Number((1e6 / median(verify)).toFixed(2)),
};
console.log(JSON.stringify(result, null, 2));
saveResult("token-verify", result);
core.close();
fs.rmSync(home, { recursive: true, force: true });
