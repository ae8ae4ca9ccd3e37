// The CLI as other tools and shells meet it (issue 15 §7): unknown options refused by name, shell
// completion, `openclaw version`, no colour codes into pipes, help under the full command path, and
// config errors that name the values expected.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { VERSION } from "../../src/lib/version.ts";
import { cli } from "../helpers/cli.ts";
import { makeHome } from "../helpers/core.ts";

const MAIN = path.join(import.meta.dir, "..", "..", "src", "main.ts");
const ESC = "\x1b[";

/** The real process: `bun src/main.ts <args>`, with only the environment given (no CI, no NO_COLOR unless set). */
function spawn(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { PATH: process.env.PATH!, OPENCLAW_HOME: makeHome(), ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** The same, with stdout on a terminal (util-linux `script` gives it a pseudo-terminal). */
function onTerminal(args: string[], env: Record<string, string>) {
  const line = [process.execPath, MAIN, ...args].map((a) => `'${a}'`).join(" ");
  const r = Bun.spawnSync(["script", "-qfec", line, "/dev/null"], { env: { PATH: process.env.PATH!, OPENCLAW_HOME: makeHome(), TERM: "xterm-256color", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() };
}

describe("unknown options", () => {
  test("are refused naming the option and the command, and nothing runs", async () => {
    const home = makeHome();
    const r = await cli(home, ["tenants", "create", "acme", "--display-nam", "Acme"]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe('openclaw: unknown option --display-nam for "openclaw tenants create" (see openclaw tenants create --help)');
    expect(JSON.parse((await cli(home, ["tenants", "list", "--json"])).out)).toEqual([]);
    const typo = await cli(home, ["tenants", "list", "--quota.tokens-per-dy=5"]);
    expect([typo.code, typo.err]).toEqual([1, expect.stringContaining("unknown option --quota.tokens-per-dy for")]);
  });

  test("declared options, aliases, values starting with '-' and what follows -- still work", async () => {
    const home = makeHome();
    expect((await cli(home, ["tenants", "create", "acme", "--display-name", "-dash-", "--quota.tokens-per-day=5", "--json"])).code).toBe(0);
    expect((await cli(home, ["audit", "tail", "-n", "1", "--no-follow"])).code).toBe(0);
    expect((await cli(home, ["--json", "tenants", "list"])).code).toBe(0);
  });
});

describe("openclaw version", () => {
  test("prints the version (and JSON with --json)", async () => {
    expect((await cli(makeHome(), ["version"])).out).toBe(`${VERSION}\n`);
    expect(JSON.parse((await cli(makeHome(), ["version", "--json"])).out)).toEqual({ version: VERSION, bun: Bun.version });
  });
});

describe("openclaw completion", () => {
  async function script(shell: string): Promise<string> {
    const r = await cli(makeHome(), ["completion", shell]);
    expect(r.code ?? 0).toBe(0);
    const file = path.join(makeHome(), `openclaw.${shell}`);
    fs.writeFileSync(file, r.out);
    return file;
  }
  const sh = (cmd: string[]) => Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH!, HOME: makeHome() } });

  test("bash completes subcommands and options from the command tree", async () => {
    const file = await script("bash");
    const r = sh(["bash", "-c", `source ${file}; COMP_WORDS=(openclaw tenants qu); COMP_CWORD=2; _openclaw; echo "\${COMPREPLY[@]}"; COMP_WORDS=(openclaw tenants quota set acme --quota.t); COMP_CWORD=5; _openclaw; echo "\${COMPREPLY[@]}"`]);
    expect(r.stdout.toString()).toBe("quota\n--quota.tokens-per-day\n");
  });

  test("zsh offers the words that may follow what is typed", async () => {
    const file = await script("zsh");
    const r = sh(["zsh", "-fc", `source ${file}; compadd() { shift; print -l -- "$@"; }; words=(openclaw admin-key ''); CURRENT=3; _openclaw`]);
    expect(r.stdout.toString().split("\n")).toContain("rotate");
    expect(r.stderr.toString()).toBe("");
  });

  test("fish completes a command line", async () => {
    const file = await script("fish");
    const r = sh(["fish", "--no-config", "-c", `source ${file}; complete -C "openclaw tenants qu"; complete -C "openclaw audit tail --fo"`]);
    expect(r.stdout.toString()).toBe("quota\n--follow\n");
  });

  test("an unknown shell is refused naming the ones there are", async () => {
    const r = await cli(makeHome(), ["completion", "tcsh"]);
    expect([r.code, r.err.trim()]).toEqual([1, 'openclaw: completion: unknown shell "tcsh"; expected one of: bash, zsh, fish']);
  });
});

describe("help and colour", () => {
  test("nested help keeps the full command path", async () => {
    const r = await cli(makeHome(), ["tenants", "quota", "set", "--help"]);
    expect(r.out).toContain("USAGE openclaw tenants quota set [OPTIONS] <ID>");
    expect((await cli(makeHome(), ["tenants", "token", "rotate", "--help"])).out).toContain("USAGE openclaw tenants token rotate");
    expect((await cli(makeHome(), ["tenants", "--help"])).out).toContain("Use openclaw tenants <command> --help");
  });

  test("no colour codes into a pipe, nor on a terminal with NO_COLOR; colour on a plain terminal", () => {
    const piped = spawn(["tenants", "--help"]);
    expect(piped.out).toContain("USAGE openclaw tenants");
    expect(piped.out).not.toContain(ESC);
    const refused = spawn(["tenants", "list", "--nope"]);
    expect(refused.err).not.toContain(ESC);
    expect(onTerminal(["tenants", "--help"], { NO_COLOR: "yes" }).out).not.toContain(ESC);
    expect(onTerminal(["tenants", "--help"], {}).out).toContain(ESC);
  });
});

describe("config errors", () => {
  test("name the values expected, not 'expected union value'", async () => {
    const home = makeHome();
    fs.writeFileSync(path.join(home, "openclaw.json"), JSON.stringify({ providers: { p: { kind: "grpc", baseUrl: "http://x" } }, quotas: { defaults: { tokensPerDay: "lots" } } }));
    const r = await cli(home, ["config", "check"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('"providers.p.kind" must be one of "openai", "anthropic", "gemini", "azure-openai", "bedrock" (got "grpc")');
    expect(r.err).toContain('"quotas.defaults.tokensPerDay" must be an integer ≥ 0 or null (got "lots")');
    expect(r.err).not.toContain("union");
  });
});
