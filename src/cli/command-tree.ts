// Reading the built citty command tree: the command a list of arguments names (with its full path),
// the options a command declares, and every command path with the words that may follow it (for
// shell completion). One walker, so help, the unknown-flag check and completion agree.
import type { ArgsDef, CommandDef } from "citty";

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
const value = async <T>(v: Resolvable<T> | undefined): Promise<T | undefined> => (typeof v === "function" ? await (v as () => T | Promise<T>)() : await v);

export async function subCommandsOf(cmd: CommandDef): Promise<Record<string, CommandDef>> {
  return ((await value(cmd.subCommands as Resolvable<Record<string, CommandDef>>)) ?? {}) as Record<string, CommandDef>;
}

export async function argsOf(cmd: CommandDef): Promise<ArgsDef> {
  return ((await value(cmd.args as Resolvable<ArgsDef>)) ?? {}) as ArgsDef;
}

/** Options every command accepts (cli/argv.ts hoists --home and --json; --help is answered before). */
export const GLOBAL_OPTIONS = { home: "string", json: "boolean", help: "boolean" } as const;

/** The command `rawArgs` names, its parent, and the names from the root to it. */
export async function resolveCommand(root: CommandDef, rawArgs: readonly string[]): Promise<{ cmd: CommandDef; parent?: CommandDef; path: string[]; consumed: number }> {
  let cmd = root;
  let parent: CommandDef | undefined;
  const path: string[] = [];
  let consumed = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if (a.startsWith("-")) continue;
    const next = (await subCommandsOf(cmd))[a];
    if (!next) break;
    parent = cmd;
    cmd = next;
    path.push(a);
    consumed = i + 1;
  }
  return { cmd, parent, path, consumed };
}

/** Option names a command takes (with aliases and --no- forms of booleans), mapped to their type. */
export async function optionsOf(cmd: CommandDef): Promise<Map<string, string>> {
  const out = new Map<string, string>(Object.entries(GLOBAL_OPTIONS));
  for (const [name, def] of Object.entries(await argsOf(cmd))) {
    if (def.type === "positional") continue;
    const type = def.type ?? "string";
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const n of [name, ...aliases]) {
      out.set(n, type);
      if (type === "boolean") out.set(`no-${n}`, type);
    }
  }
  return out;
}

/**
 * The first option in `args` (the arguments after the command path, up to `--`) that `cmd` does not
 * declare, as typed; null when all are known. A string option's value may start with "-".
 */
export async function unknownOption(cmd: CommandDef, args: readonly string[]): Promise<string | null> {
  const known = await optionsOf(cmd);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-" || /^-\d/.test(a)) continue;
    const name = a.replace(/^--?/, "").split("=")[0]!;
    const type = known.get(name);
    if (type === undefined) return a.split("=")[0]!;
    if (type !== "boolean" && !a.includes("=")) i++;
  }
  return null;
}

/** Every command path ("" for the root) with the subcommand names and options that may follow it. */
export async function completionTable(root: CommandDef): Promise<Map<string, string[]>> {
  const table = new Map<string, string[]>();
  async function walk(cmd: CommandDef, path: string[]): Promise<void> {
    const subs = await subCommandsOf(cmd);
    const meta = await value(cmd.meta as Resolvable<{ hidden?: boolean }>);
    if (meta?.hidden) return;
    const declared = await optionsOf(cmd);
    // The --no- forms are accepted but not offered: they only clutter the list.
    const options = [...declared.keys()].filter((n) => !(n.startsWith("no-") && declared.has(n.slice(3)))).map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
    table.set(path.join(" "), [...Object.keys(subs), ...options]);
    for (const [name, sub] of Object.entries(subs)) await walk(sub, [...path, name]);
  }
  await walk(root, []);
  return table;
}
