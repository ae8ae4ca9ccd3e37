// Registers OpenClawMU's gVisor runtimes in /etc/docker/daemon.json without dropping anything else
// the file holds. `check FILE` exits 0 when the runtimes are already there as deploy/ has them;
// `merge FILE WANT` writes FILE with WANT's runtimes added (keeping a .bak of the old file).
import fs from "node:fs";

const [cmd, file, wantFile] = process.argv.slice(2);
const read = (p: string) => (fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, "utf8") || "{}") : {});
const current = read(file!);
const want = read(wantFile ?? `${import.meta.dir}/../deploy/docker-daemon.json`);
if (cmd === "check") {
  const ok = Object.entries(want.runtimes ?? {}).every(([name, r]) => JSON.stringify(current.runtimes?.[name]) === JSON.stringify(r));
  process.exit(ok ? 0 : 1);
}
if (cmd === "merge") {
  if (fs.existsSync(file!)) fs.copyFileSync(file!, `${file}.bak`);
  const merged = { ...current, runtimes: { ...(current.runtimes ?? {}), ...want.runtimes } };
  fs.writeFileSync(file!, `${JSON.stringify(merged, null, 2)}\n`);
  process.exit(0);
}
console.error("usage: docker-runtimes.ts check FILE | merge FILE WANT");
process.exit(2);
