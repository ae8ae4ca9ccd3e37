// Builds the single binary: bun build --compile src/main.ts → dist/openclaw.
// Usage: bun scripts/build.ts [--target bun-linux-x64|bun-linux-arm64] [--outfile dist/openclaw]
import path from "node:path";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const root = path.join(import.meta.dir, "..");
const outfile = flag("--outfile") ?? "dist/openclaw";
const target = flag("--target");

// Worker entry points must be named to be compiled into the binary.
const entries = ["src/main.ts", "src/db/checkpoint.worker.ts", "src/modules/usage/ledger.worker.ts", "src/modules/backup/hash.worker.ts", "src/modules/backup/file-writer.worker.ts", "src/modules/backup/extract-writer.worker.ts", "src/modules/disk/disk-usage.worker.ts", "src/modules/responses/responses.worker.ts"];
// The binary must not pick up a .env or bunfig.toml from whatever directory it runs in: its settings
// come from the state directory and the environment only.
const cmd = [
  "bun",
  "build",
  "--compile",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  // Precompiled bytecode: a CLI command starts in ~40 ms instead of ~125 ms (no parsing at start).
  "--bytecode",
  "--format=esm",
  "--minify-syntax",
  "--minify-whitespace",
  "--sourcemap=none",
  ...(target ? [`--target=${target}`] : []),
  ...entries,
  "--outfile",
  outfile,
];
const r = Bun.spawnSync(cmd, { cwd: root, stdout: "inherit", stderr: "inherit" });
if (r.exitCode !== 0) process.exit(r.exitCode ?? 1);
console.log(`built ${outfile}`);
