// The layering of src/, read from the source itself so it cannot erode: every import (static, type,
// dynamic, re-export, a worker's or a file's URL) points down the layer list or stays in its layer,
// no two folders import each other (directly or round a loop), modules import each other only in
// the order of src/app/modules.ts, only config/ reads the environment, and only the edge's
// authentication and the operator's path mint a TenantScope. A finding names the file and line.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.join(import.meta.dir, "..", "..");
const SRC = path.join(ROOT, "src");

/** Bottom to top: a file may import its own layer and the layers before it. */
export const LAYERS = ["lib", "core", "config", "db", "edge", "modules", "app", "http", "cli", "main"] as const;
type Layer = (typeof LAYERS)[number];

/** Files outside a layer folder, and where they belong. */
const LOOSE_FILES: Record<string, Layer> = { "main.ts": "main", "types.d.ts": "lib" };

/** The only files that may mint a TenantScope (the edge's authentication, the operator's CLI path, and the cron scheduler for the owner of a stored job). */
const SCOPE_MINTERS = new Set(["src/edge/tenant-scope.ts", "src/http/auth.ts", "src/http/tenant-identity.ts", "src/cli/context.ts", "src/modules/cron/cron.identity.ts", "src/modules/channels/channels.identity.ts"]);

export interface Edge {
  from: string;
  to: string;
  line: number;
  text: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|js)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Comments blanked out (strings kept), so a commented-out import is not read, and lines stay where they were. */
function stripComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const IMPORT_PATTERNS: RegExp[] = [
  // import x from "…", import type { x } from "…", export { x } from "…", export * from "…"
  /\b(?:import|export)\s+(?:type\s+)?[^;'"`]*?\bfrom\s*["']([^"']+)["']/g,
  // import "…" (side effect)
  /\bimport\s*["']([^"']+)["']/g,
  // import("…")
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  // new URL("…", import.meta.url): a worker's or a file's location
  /\bnew\s+URL\s*\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
];
/** workerSpecifier("db/checkpoint.worker.ts"): a path under src/ (lib/worker.ts). */
const WORKER_PATTERN = /\bworkerSpecifier\s*\(\s*["']([^"']+)["']\s*\)/g;

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Every edge from a file of src/ to another file of src/ (packages and node: modules are not edges). */
export function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const raw = fs.readFileSync(file, "utf8");
    const text = stripComments(raw);
    const from = path.relative(ROOT, file);
    const add = (target: string, index: number) => {
      const line = lineOf(text, index);
      edges.push({ from, to: path.relative(ROOT, target), line, text: raw.split("\n")[line - 1]!.trim() });
    };
    for (const re of IMPORT_PATTERNS) {
      for (const m of text.matchAll(re)) {
        const spec = m[1]!;
        if (!spec.startsWith(".")) continue;
        add(path.resolve(path.dirname(file), spec), m.index!);
      }
    }
    for (const m of text.matchAll(WORKER_PATTERN)) add(path.join(SRC, m[1]!), m.index!);
  }
  return edges;
}

export function layerOf(rel: string): Layer | null {
  if (!rel.startsWith("src/")) return null; // package.json, say: outside the layering
  const inner = rel.slice(4);
  if (LOOSE_FILES[inner]) return LOOSE_FILES[inner]!;
  const top = inner.split("/")[0]!;
  return (LAYERS as readonly string[]).includes(top) ? (top as Layer) : null;
}

const where = (e: Edge) => `${e.from}:${e.line}: ${e.text}`;

/**
 * The unit a file belongs to for the cycle rule: its folder — except inside a feature module, whose
 * whole tree (src/modules/<feature>/**) is one unit. A feature's sub-folders (methods/, tools/) are
 * its own organisation, free to use the feature's shared files; between features the rule is whole.
 */
export function unitOf(file: string): string {
  const m = /^src\/modules\/[^/]+\//.exec(file);
  return m && file.slice(m[0].length).includes("/") ? m[0].slice(0, -1) : path.dirname(file);
}

/** Folders (feature modules counted whole) that reach each other through imports (strongly connected, more than one). */
export function folderCycles(edges: Edge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b || !b.startsWith("src")) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    graph.get(a)!.add(b);
  }
  // Tarjan's algorithm, iterative enough for a tree of this size.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** The feature folders in the order of src/app/modules.ts (the list is read as text: nothing is run). */
function moduleOrder(): string[] {
  const file = path.join(SRC, "app", "modules.ts");
  if (!fs.existsSync(file)) return [];
  const text = stripComments(fs.readFileSync(file, "utf8"));
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import\s*\{\s*(\w+)\s*\}\s*from\s*["']\.\.\/modules\/([\w-]+)\/[\w.-]+\.module\.ts["']/g)) imports.set(m[1]!, m[2]!);
  const list = /export const MODULES = \[([^\]]*)\]/.exec(text)?.[1] ?? "";
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((name) => imports.get(name) ?? `?${name}`);
}

describe("layers", () => {
  const edges = importEdges();

  test("every file of src/ belongs to a layer", () => {
    const files = sourceFiles(SRC).map((f) => path.relative(ROOT, f));
    expect(files.filter((f) => layerOf(f) === null)).toEqual([]);
  });

  test("the import reader sees the kinds of import the tree uses", () => {
    const kinds = {
      static: edges.some((e) => /^import .* from /.test(e.text)),
      type: edges.some((e) => /^import type /.test(e.text)),
      dynamic: edges.some((e) => /import\(/.test(e.text)),
      worker: edges.some((e) => /workerSpecifier\(/.test(e.text)),
      url: edges.some((e) => /new URL\(/.test(e.text)),
    };
    expect(kinds).toEqual({ static: true, type: true, dynamic: true, worker: true, url: true });
    for (const e of edges) expect({ edge: where(e), exists: fs.existsSync(path.join(ROOT, e.to)) || !e.to.startsWith("src/") }).toEqual({ edge: where(e), exists: true });
  });

  test("no import points up the layer list", () => {
    const upward = edges.filter((e) => {
      const a = layerOf(e.from);
      const b = layerOf(e.to);
      return a !== null && b !== null && LAYERS.indexOf(b) > LAYERS.indexOf(a);
    });
    expect(upward.map((e) => `${where(e)}  (${layerOf(e.from)} → ${layerOf(e.to)})`)).toEqual([]);
  });

  test("the cycle rule counts a feature's sub-folders as the feature, and still sees features that import each other", () => {
    const e = (from: string, to: string): Edge => ({ from, to, line: 1, text: "" });
    expect(folderCycles([e("src/modules/f/methods/a.ts", "src/modules/f/shared.ts"), e("src/modules/f/f.module.ts", "src/modules/f/methods/index.ts")])).toEqual([]);
    expect(folderCycles([e("src/modules/f/methods/a.ts", "src/modules/g/g.ts"), e("src/modules/g/g.ts", "src/modules/f/f.ts")])).toEqual([["src/modules/f", "src/modules/g"]]);
    expect(folderCycles([e("src/http/a.ts", "src/cli/b.ts"), e("src/cli/b.ts", "src/http/c.ts")])).toEqual([["src/cli", "src/http"]]);
  });

  test("no two folders import each other, directly or round a loop", () => {
    const cycles = folderCycles(edges);
    const detail = cycles.map((c) => {
      const inCycle = new Set(c);
      const witnesses = edges.filter((e) => inCycle.has(unitOf(e.from)) && inCycle.has(unitOf(e.to)) && unitOf(e.from) !== unitOf(e.to));
      return { folders: c, imports: witnesses.map(where) };
    });
    expect(detail).toEqual([]);
  });

  test("a module imports only modules before it in src/app/modules.ts", () => {
    const order = moduleOrder();
    expect(order.length).toBeGreaterThan(5);
    expect(order.filter((m) => m.startsWith("?"))).toEqual([]);
    const rank = (rel: string) => {
      const m = /^src\/modules\/([\w-]+)\//.exec(rel);
      return m ? order.indexOf(m[1]!) : -1;
    };
    const wrong = edges.filter((e) => {
      const a = /^src\/modules\/([\w-]+)\//.exec(e.from)?.[1];
      const b = /^src\/modules\/([\w-]+)\//.exec(e.to)?.[1];
      if (!a || !b || a === b) return false;
      // Folders that are not modules (shared helpers such as paths/) sit below every module.
      if (rank(e.to) === -1) return false;
      return rank(e.from) === -1 || rank(e.to) > rank(e.from);
    });
    expect(wrong.map((e) => `${where(e)}  (${e.from.split("/")[2]} is not after ${e.to.split("/")[2]} in MODULES)`)).toEqual([]);
  });

  test("only config/ reads the environment", () => {
    const reads: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = path.relative(ROOT, file);
      if (rel.startsWith("src/config/")) continue;
      const raw = fs.readFileSync(file, "utf8");
      const text = stripComments(raw);
      for (const m of text.matchAll(/\b(process\.env|Bun\.env|import\.meta\.env)\b/g)) reads.push(`${rel}:${lineOf(text, m.index!)}: ${raw.split("\n")[lineOf(text, m.index!) - 1]!.trim()}`);
    }
    expect(reads).toEqual([]);
  });

  test("only the edge's authentication and the operator's path mint a TenantScope", () => {
    const minting: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = path.relative(ROOT, file);
      const raw = fs.readFileSync(file, "utf8");
      const text = stripComments(raw);
      for (const m of text.matchAll(/\bmintTenantScope\b/g)) if (!SCOPE_MINTERS.has(rel)) minting.push(`${rel}:${lineOf(text, m.index!)}`);
    }
    expect(minting).toEqual([]);
    expect(fs.readFileSync(path.join(SRC, "edge", "tenant-scope.ts"), "utf8")).toContain("export function mintTenantScope");
  });
});
