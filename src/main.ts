#!/usr/bin/env bun
// openclaw: the CLI root. Wiring only; the command tree is cli/run.ts (the CLI's own commands and
// every module's).
import { hoistGlobalOptions } from "./cli/argv.ts";

// Inside a sandbox, the binary doubles as the egress bridge (see modules/sandbox/egress/bridge.ts).
if (process.argv[2] === "__egress-bridge") {
  const { runEgressBridge } = await import("./modules/sandbox/egress/bridge.ts");
  await runEgressBridge(process.argv.slice(3));
}

// `--home DIR` and `--json` are accepted before the subcommand too (see cli/argv.ts).
const rawArgs = hoistGlobalOptions(process.argv.slice(2));

// The gateway runs with its allocator tuned for steady latency (see lib/allocator.ts): it re-executes
// itself once with the settings in its environment, before it opens anything.
if (rawArgs[0] === "gateway") {
  const [{ reexecWithAllocatorSettings }, { environmentVariables }] = await Promise.all([import("./lib/allocator.ts"), import("./config/env.ts")]);
  reexecWithAllocatorSettings(environmentVariables());
}

// Everything this process creates (state.db, WAL, audit log, overlays, directories) is private.
process.umask(0o077);

// `--version` needs nothing else loaded.
if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
  const { VERSION } = await import("./lib/version.ts");
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}

const { runCli } = await import("./cli/run.ts");
const code = await runCli(rawArgs);
if (code !== undefined) process.exit(code);
