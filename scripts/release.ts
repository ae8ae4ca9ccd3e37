// Release build: dist/release/openclaw-linux-x64 and openclaw-linux-arm64 (cross-compiled; Bun fetches
// the arm64 runtime from the npm registry), and SHA256SUMS. Builds are reproducible: the same commit
// gives byte-identical binaries. `--check` builds everything twice and fails unless both match.
//   bun scripts/release.ts [--check] [--only x64|arm64]
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const root = path.join(import.meta.dir, "..");
const outDir = path.join(root, "dist", "release");
const args = process.argv.slice(2);
const check = args.includes("--check");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const TARGETS = [
  { name: "openclaw-linux-x64", target: "bun-linux-x64" },
  { name: "openclaw-linux-arm64", target: "bun-linux-arm64" },
].filter((t) => !only || t.name.endsWith(only));

function build(dir: string): Record<string, string> {
  fs.mkdirSync(dir, { recursive: true });
  const sums: Record<string, string> = {};
  for (const t of TARGETS) {
    const out = path.join(dir, t.name);
    const r = Bun.spawnSync(["bun", "scripts/build.ts", "--target", t.target, "--outfile", out], { cwd: root, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      console.error(r.stderr.toString());
      process.exit(1);
    }
    sums[t.name] = crypto.createHash("sha256").update(fs.readFileSync(out)).digest("hex");
  }
  return sums;
}

const sums = build(outDir);
const lines = Object.entries(sums).map(([name, hex]) => `${hex}  ${name}`);
fs.writeFileSync(path.join(outDir, "SHA256SUMS"), `${lines.join("\n")}\n`);
for (const l of lines) console.log(l);
if (check) {
  const again = build(path.join(outDir, ".rebuild"));
  fs.rmSync(path.join(outDir, ".rebuild"), { recursive: true, force: true });
  const differ = Object.keys(sums).filter((k) => sums[k] !== again[k]);
  if (differ.length) {
    console.error(`not reproducible: ${differ.join(", ")} differ between two builds`);
    process.exit(1);
  }
  console.log("reproducible: a second build is byte-identical");
}
