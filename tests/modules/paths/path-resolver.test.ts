// The one path resolver against a hostile corpus (well over 200 inputs) and generated paths: every
// input is either refused or lands inside the tenant root, and the named attack classes are refused.
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { checkRelativePath, isInside, openInRoot, PathError, resolveInRoot } from "../../../src/modules/paths/path-resolver.ts";
import { makeHome } from "../../helpers/core.ts";

let base: string;
let root: string;
let outside: string;

beforeAll(() => {
  base = fs.realpathSync(makeHome());
  root = path.join(base, "tenant");
  outside = path.join(base, "other-tenant");
  fs.mkdirSync(path.join(root, "workspace", "docs"), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "secret.txt"), "other tenant's secret");
  fs.writeFileSync(path.join(root, "workspace", "docs", "a.txt"), "mine");
  fs.symlinkSync("/etc", path.join(root, "etc-link"));
  fs.symlinkSync("..", path.join(root, "up"));
  fs.symlinkSync("/", path.join(root, "abs-root"));
  fs.symlinkSync(outside, path.join(root, "workspace", "neighbour"));
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(root, "workspace", "secret-link"));
  fs.symlinkSync("chain2", path.join(root, "chain1"));
  fs.symlinkSync("../..", path.join(root, "chain2"));
  fs.symlinkSync("loop", path.join(root, "loop"));
  fs.symlinkSync("/nonexistent/x", path.join(root, "dangling"));
  fs.symlinkSync("workspace/docs", path.join(root, "docs-inside"));
  fs.symlinkSync("docs/a.txt", path.join(root, "workspace", "a-inside"));
  fs.writeFileSync(path.join(root, "file"), "x");
});

const MUST_REJECT_LEXICAL: [string, string][] = [
  ...["/etc/passwd", "/", "//etc/passwd", "///x", "/tmp/../etc", "C:x", "C:\\x", "c:/windows", "~/x", "~root/.ssh", "/proc/self/root/etc/passwd", "\\x", "\\\\server\\share", "\\\\?\\C:\\x"].map((p) => [p, "absolute"] as [string, string]),
  ...["..", "../", "../x", "a/../../x", "a/..", "./../x", "a/b/../../../c", "..//x", "x/..", "workspace/../../etc", "a/./../..", "...//../x", "docs/../../x"].map((p) => [p, "dot_dot"] as [string, string]),
  ...["..\\x", "a\\b", "workspace\\..\\..\\etc", "a/..\\..\\x"].map((p) => [p, "backslash"] as [string, string]),
  ...["a\u0000b", "a\nb", "\u007f", "a\tb", "a\rb", "\u001b[31m", "x\u0000/../../etc/passwd", "..\u0000"].map((p) => [p, "control_char"] as [string, string]),
  ["", "empty"],
  ["x".repeat(4097), "too_long"],
  [`${"x".repeat(256)}/y`, "segment_too_long"],
];

const MUST_REJECT_FS: [string, string][] = [
  ["etc-link/passwd", "symlink_escape"],
  ["up/other-tenant/secret.txt", "symlink_escape"],
  ["abs-root/etc/shadow", "symlink_escape"],
  ["workspace/neighbour/secret.txt", "symlink_escape"],
  ["chain1/x", "symlink_escape"],
  ["dangling/x", "symlink_escape"],
  ["file/x", "not_a_directory"],
];

/** Names that look hostile but are legal, literal file names; they must resolve inside the root. */
const LITERAL_BUT_CONTAINED = ["%2e%2e/x", "..%2fx", "%2e%2e%2f%2e%2e%2fetc", "\uff0e\uff0e/x", "\u2024\u2024/x", "...", "....", ".x", "a..b", "workspace/./docs/a.txt", "a//b", "./a", "a/", "é/ü", "\u202etxt.exe", "CON", "nul", "ab:c", "a b", " ", "-rf"];

function hostileCorpus(): string[] {
  const prefixes = ["", "a/", "a/b/", "./", "workspace/", "workspace/docs/", "docs-inside/"];
  const suffixes = [
    ...MUST_REJECT_LEXICAL.map(([p]) => p),
    ...MUST_REJECT_FS.map(([p]) => p),
    ...LITERAL_BUT_CONTAINED,
    "loop/x",
    "workspace/secret-link",
  ];
  const out = new Set<string>();
  for (const pre of prefixes) for (const s of suffixes) out.add(pre + s);
  return [...out];
}

function expectContainedOrRefused(input: string): "refused" | "contained" {
  try {
    const r = resolveInRoot(root, input, { leaf: "inside" });
    expect(isInside(fs.realpathSync(root), r.absolute)).toBe(true);
    // Whatever exists of it must really be inside (no symlink trickery in what we return).
    let probe = r.absolute;
    while (!fs.existsSync(probe)) probe = path.dirname(probe);
    expect(isInside(fs.realpathSync(root), fs.realpathSync(probe))).toBe(true);
    return "contained";
  } catch (err) {
    if (!(err instanceof PathError) && (err as NodeJS.ErrnoException).code !== "ELOOP") throw err;
    return "refused";
  }
}

describe("path resolver", () => {
  test("the hostile corpus has over 200 inputs and none escapes", () => {
    const corpus = hostileCorpus();
    expect(corpus.length).toBeGreaterThan(200);
    const outcomes = corpus.map((p) => expectContainedOrRefused(p));
    expect(outcomes.filter((o) => o === "refused").length).toBeGreaterThan(100);
  });

  test.each(MUST_REJECT_LEXICAL)("refuses %p (%s) before touching the filesystem", (input, problem) => {
    let caught: unknown;
    try {
      checkRelativePath(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PathError);
    expect((caught as PathError).problem).toBe(problem as never);
    expect((caught as PathError).message).not.toMatch(/[\u0000-\u001f]/);
  });

  test.each(MUST_REJECT_FS)("refuses %p (%s)", (input, problem) => {
    let caught: unknown;
    try {
      resolveInRoot(root, input, { leaf: "inside" });
    } catch (err) {
      caught = err;
    }
    expect((caught as PathError)?.problem).toBe(problem as never);
  });

  test.each(LITERAL_BUT_CONTAINED)("keeps %p literal and inside the root", (input) => {
    expect(expectContainedOrRefused(input)).toBe("contained");
  });

  test("symlinks inside the root are followed only while they stay inside", () => {
    expect(resolveInRoot(root, "docs-inside/a.txt", { leaf: "nofollow" }).absolute).toBe(path.join(root, "workspace", "docs", "a.txt"));
    expect(resolveInRoot(root, "workspace/a-inside", { leaf: "inside" }).absolute).toBe(path.join(root, "workspace", "docs", "a.txt"));
  });

  test("a final symlink is never followed for reads and writes, even one pointing inside", () => {
    for (const p of ["workspace/a-inside", "workspace/secret-link", "etc-link", "loop"]) {
      expect(() => resolveInRoot(root, p, { leaf: "nofollow" })).toThrow(PathError);
    }
  });

  test("openInRoot opens with O_NOFOLLOW and checks the inode", () => {
    const { fd, resolved } = openInRoot(root, "workspace/docs/a.txt", fs.constants.O_RDONLY);
    expect(fs.readFileSync(fd, "utf8")).toBe("mine");
    fs.closeSync(fd);
    expect(resolved.relative).toBe("workspace/docs/a.txt");
    expect(() => openInRoot(root, "workspace/secret-link", fs.constants.O_RDONLY)).toThrow();
    const w = openInRoot(root, "workspace/new.txt", fs.constants.O_WRONLY | fs.constants.O_CREAT);
    fs.writeSync(w.fd, "new");
    fs.closeSync(w.fd);
    expect(fs.readFileSync(path.join(root, "workspace", "new.txt"), "utf8")).toBe("new");
  });

  test("a symlink planted between resolve and open is refused (leaf race)", () => {
    const target = path.join(root, "workspace", "race.txt");
    fs.writeFileSync(target, "ok");
    const resolved = resolveInRoot(root, "workspace/race.txt");
    fs.rmSync(target);
    fs.symlinkSync(path.join(outside, "secret.txt"), target);
    expect(() => fs.openSync(resolved.absolute, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)).toThrow(/ELOOP|symbolic/);
    expect(() => openInRoot(root, "workspace/race.txt", fs.constants.O_RDONLY)).toThrow();
    fs.rmSync(target);
  });

  test("property: generated paths are refused or contained", () => {
    const seg = fc.constantFrom(".", "..", "a", "b", "workspace", "docs", "up", "etc-link", "chain1", "neighbour", "%2e%2e", "é", "\u0000", "\\", "", "~", "C:", "docs-inside", "loop");
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 8 }), fc.boolean(), (parts, leading) => {
        const input = (leading ? "/" : "") + parts.join("/");
        expectContainedOrRefused(input);
        return true;
      }),
      { numRuns: 3000 },
    );
  });

  test("prefix confusion: a sibling whose name starts with the root's is outside", () => {
    expect(isInside("/base/dir", "/base/dirmalicious/x")).toBe(false);
    expect(isInside("/base/dir", "/base/dir/x")).toBe(true);
    expect(isInside("/base/dir", "/base/dir")).toBe(true);
  });
});
