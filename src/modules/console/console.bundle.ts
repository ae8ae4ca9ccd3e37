// The console's browser code, bundled at build time. Imported by console.assets.ts as a Bun macro
// (`with { type: "macro" }`): it runs while Bun transpiles that file — from source at start, or
// inside `bun build --compile` — and its result (the bundled files, as strings) is inlined into the
// code, so the binary carries the console and serves it with no source tree and no network.
//
// Bun.build cannot run inside a macro; the `bun build` CLI, spawned, can. The entry's page map is
// generated from every `src/modules/**/*.page.tsx`, so a module adds a page by adding one file.
// Results are cached under node_modules/.cache keyed by a hash of every input (sources, tsconfig,
// bun.lock, this file), so a change to any UI source rebuilds and an unchanged tree costs a hash.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface BundledFile {
  /** Served as /ui/assets/<name> (content-hashed by bun build, so cacheable for ever). */
  name: string;
  /** The entry script or a stylesheet: what the page itself loads (chunks are imported by the entry). */
  entry: boolean;
  type: string;
  body: string;
}

export interface ConsoleBundle {
  /** The script and stylesheets, in the order the page loads them. */
  files: BundledFile[];
  /** The ids of the page files found (for the page map and tests). */
  pages: string[];
}

const ROOT = path.resolve(import.meta.dir, "../../..");
const UI_DIR = path.join(ROOT, "src/modules/console/ui");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

function pageFiles(): string[] {
  const glob = new Bun.Glob("src/modules/**/*.page.tsx");
  return [...glob.scanSync({ cwd: ROOT, onlyFiles: true })].sort();
}

function walk(dir: string, out: string[]): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** A hash of everything the bundle is made from. */
function inputHash(pages: string[]): string {
  const h = createHash("sha256");
  const files = [...walk(UI_DIR, []).sort(), ...pages.map((p) => path.join(ROOT, p)), path.join(ROOT, "tsconfig.ui.json"), path.join(ROOT, "bun.lock"), path.join(import.meta.dir, "console.bundle.ts")];
  for (const f of files) {
    h.update(f);
    h.update("\0");
    h.update(existsSync(f) ? readFileSync(f) : "");
    h.update("\0");
  }
  h.update(Bun.version);
  return h.digest("hex").slice(0, 24);
}

function entrySource(pages: string[]): string {
  const lines = [`import { start } from ${JSON.stringify(path.join(UI_DIR, "main.tsx"))};`];
  pages.forEach((p, i) => lines.push(`import p${i} from ${JSON.stringify(path.join(ROOT, p))};`));
  lines.push(`start([${pages.map((_, i) => `p${i}`).join(", ")}]);`);
  return lines.join("\n") + "\n";
}

function build(pages: string[]): ConsoleBundle {
  const work = mkdtempSync(path.join(tmpdir(), "ocmu-console-"));
  try {
    const entry = path.join(work, "console.ts");
    writeFileSync(entry, entrySource(pages));
    const out = path.join(work, "out");
    const r = Bun.spawnSync(
      [
        process.execPath,
        "build",
        entry,
        "--outdir",
        out,
        "--target=browser",
        "--format=esm",
        "--minify",
        // xterm.js (most of the code) is imported by the terminal page only when it opens: a chunk.
        "--splitting",
        "--sourcemap=none",
        `--tsconfig-override=${path.join(ROOT, "tsconfig.ui.json")}`,
        "--entry-naming=[name]-[hash].[ext]",
        "--asset-naming=[name]-[hash].[ext]",
        "--chunk-naming=chunk-[name]-[hash].[ext]",
      ],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe"},
    );
    if (r.exitCode !== 0) throw new Error(`console bundle failed:\n${r.stdout.toString()}\n${r.stderr.toString()}`);
    const files: BundledFile[] = [];
    for (const name of readdirSync(out).sort()) {
      const type = TYPES[path.extname(name)];
      if (!type) throw new Error(`console bundle: unexpected output ${name}`);
      files.push({ name, type, entry: name.startsWith("console-"), body: readFileSync(path.join(out, name), "utf8") });
    }
    // Stylesheets first, then the script (index.html loads them in this order).
    files.sort((a, b) => Number(a.name.endsWith(".js")) - Number(b.name.endsWith(".js")));
    return { files, pages: pages.map((p) => path.basename(p, ".page.tsx")) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Keeps the `keep` newest bundles of the cache (each edit of a UI source adds one). */
function prune(dir: string, keep: number): void {
  const entries = readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .map((n) => ({ n, t: statSync(path.join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const e of entries.slice(keep)) rmSync(path.join(dir, e.n), { force: true });
}

/** The macro: the console's bundled files (cached by input hash). */
export function consoleBundle(): ConsoleBundle {
  const pages = pageFiles();
  const cacheDir = path.join(ROOT, "node_modules/.cache/openclawmu-console");
  const cached = path.join(cacheDir, `${inputHash(pages)}.json`);
  if (existsSync(cached)) {
    try {
      return JSON.parse(readFileSync(cached, "utf8")) as ConsoleBundle;
    } catch {
      // a torn or foreign file: rebuild below
    }
  }
  const bundle = build(pages);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(bundle));
    renameSync(tmp, cached);
    prune(cacheDir, 8);
  } catch {
    // a read-only tree: no cache, the bundle is still good
  }
  return bundle;
}
