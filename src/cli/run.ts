// The `openclaw` command tree: the CLI's own commands (gateway, config, healthcheck) and every
// module's (src/app/modules.ts), merged by name — a module may add commands to another's group
// (`tenants backup` is the backup module's). `runCli` runs it in this process and returns the exit
// code, so tests call commands the way the binary does without spawning one.
import { defineCommand, renderUsage, runCommand, type ArgsDef, type CommandDef } from "citty";
import { MODULES } from "../app/modules.ts";
import { VERSION } from "../lib/version.ts";
import { commonArgs, isCliGroup, type CliCommand, type CliGroup, type CliTree } from "../modules/module-cli.ts";
import type { AnyModule } from "../modules/module.ts";
import { configCommand } from "./config.command.ts";
import { gatewayCommand } from "./gateway.command.ts";
import { healthcheckCommand } from "./healthcheck.command.ts";
import { resolveCommand, unknownOption } from "./command-tree.ts";
import { completionCommand } from "./completion.ts";
import { action, cliIo, openCore, processRuntime, withoutColor, type CliRuntime, type CommonArgs, type Outcome } from "./context.ts";

/** A command that runs with the state directory open and the module's services in hand. */
function moduleCommand(m: AnyModule, name: string, cmd: CliCommand<object, ArgsDef>, rt: CliRuntime, outcome: Outcome): CommandDef {
  return defineCommand({
    meta: { name, description: cmd.description },
    args: cmd.args,
    run: async ({ args, rawArgs }) => {
      outcome.code = await action(rt, args as CommonArgs, async () => {
        const core = openCore(args as CommonArgs, rt);
        try {
          const io = cliIo(core, args as CommonArgs, rawArgs ?? [], rt);
          await cmd.run(core.servicesOf(m), args as never, io);
          return io.code;
        } finally {
          core.close();
        }
      });
    },
  });
}

type Node = { description?: string; commands: Map<string, CommandDef | Node> };

function mergeInto(node: Node, m: AnyModule, tree: CliTree<object>, rt: CliRuntime, outcome: Outcome, at: string[]): void {
  for (const [name, entry] of Object.entries(tree)) {
    const existing = node.commands.get(name);
    if (isCliGroup(entry)) {
      const group = (entry as CliGroup<object>);
      if (existing && !("commands" in existing)) throw new Error(`openclaw ${[...at, name].join(" ")}: module ${m.name} adds commands to a command`);
      const child: Node = (existing as Node | undefined) ?? { commands: new Map() };
      child.description ??= group.description;
      node.commands.set(name, child);
      mergeInto(child, m, group.commands, rt, outcome, [...at, name]);
    } else {
      if (existing) throw new Error(`openclaw ${[...at, name].join(" ")} is declared twice (module ${m.name})`);
      node.commands.set(name, moduleCommand(m, name, entry as CliCommand<object, ArgsDef>, rt, outcome));
    }
  }
}

function toCommand(name: string, node: Node): CommandDef {
  const subCommands: Record<string, CommandDef> = {};
  for (const [n, c] of node.commands) subCommands[n] = "commands" in c ? toCommand(n, c as Node) : (c as CommandDef);
  return defineCommand({ meta: { name, description: node.description }, subCommands });
}

export function buildCli(rt: CliRuntime, outcome: Outcome, modules: readonly AnyModule[] = [...MODULES, ...(rt.extraModules ?? [])]): CommandDef {
  const root: Node = { commands: new Map() };
  root.commands.set("gateway", gatewayCommand(rt, outcome) as CommandDef);
  for (const m of modules) if (m.cli) mergeInto(root, m, m.cli as CliTree<object>, rt, outcome, []);
  root.commands.set("config", configCommand(rt, outcome) as CommandDef);
  root.commands.set("healthcheck", healthcheckCommand(rt, outcome) as CommandDef);
  root.commands.set("completion", completionCommand(rt, outcome, () => cli) as CommandDef);
  root.commands.set("version", versionCommand(rt) as CommandDef);
  const tree = toCommand("openclaw", root);
  const cli: CommandDef = { ...tree, meta: { name: "openclaw", version: VERSION, description: "OpenClawMU: a self-hosted, multi-tenant AI gateway" } };
  return cli;
}

function versionCommand(rt: CliRuntime) {
  return defineCommand({
    meta: { name: "version", description: "Print the version (also: openclaw --version)" },
    args: { json: commonArgs.json },
    run: ({ args }) => rt.stdout(args.json ? `${JSON.stringify({ version: VERSION, bun: Bun.version })}\n` : `${VERSION}\n`),
  });
}

/** The usage of the command `rawArgs` names, under its full path (`openclaw tenants quota set`). */
async function usageOf(root: CommandDef, rawArgs: string[]): Promise<string> {
  const { cmd, path } = await resolveCommand(root, rawArgs);
  if (path.length === 0) return renderUsage(root);
  return renderUsage(cmd, { meta: { name: ["openclaw", ...path.slice(0, -1)].join(" "), version: VERSION } });
}

/**
 * Runs `openclaw <rawArgs>` in this process. `--help` prints the usage of the command named; an
 * unknown or missing command prints its usage and exits 1. Returns the exit code, or undefined when
 * the command succeeded without asking for one.
 */
export async function runCli(rawArgs: string[], runtime: CliRuntime = processRuntime()): Promise<number | undefined> {
  const rt = withoutColor(runtime);
  const outcome: Outcome = {};
  const root = buildCli(rt, outcome);
  const end = rawArgs.indexOf("--");
  const options = end < 0 ? rawArgs : rawArgs.slice(0, end);
  if (options.some((a) => a === "--help" || a === "-h")) {
    rt.stdout(`${await usageOf(root, rawArgs)}\n`);
    return 0;
  }
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
    rt.stdout(`${VERSION}\n`);
    return undefined;
  }
  // An option the command does not declare is refused, not ignored: a typo must not run the command without it.
  const { cmd, path } = await resolveCommand(root, rawArgs);
  if (cmd.run) {
    const unknown = await unknownOption(cmd, rawArgs);
    if (unknown) {
      const name = ["openclaw", ...path].join(" ");
      rt.stderr(`openclaw: unknown option ${unknown} for "${name}" (see ${name} --help)\n`);
      return 1;
    }
  }
  try {
    await runCommand(root, { rawArgs });
  } catch (err) {
    // citty's own refusals: an unknown or missing subcommand, a missing required argument.
    rt.stdout(`${await usageOf(root, rawArgs)}\n`);
    rt.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return outcome.code;
}
