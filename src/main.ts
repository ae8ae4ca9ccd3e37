#!/usr/bin/env bun
// openclaw: the CLI root. Wiring only; each command lives in cli/commands/.
import { defineCommand, runMain } from "citty";
import { hoistGlobalOptions } from "./cli/argv.ts";
import { VERSION } from "./lib/version.ts";

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

const main = defineCommand({
  meta: { name: "openclaw", version: VERSION, description: "OpenClawMU: a self-hosted, multi-tenant AI gateway" },
  subCommands: {
    gateway: () => import("./cli/commands/gateway.ts").then((m) => m.default),
    tenants: () => import("./cli/commands/tenants.ts").then((m) => m.default),
    usage: () => import("./cli/commands/usage.ts").then((m) => m.default),
    audit: () => import("./cli/commands/audit.ts").then((m) => m.default),
    config: () => import("./cli/commands/config.ts").then((m) => m.default),
    "admin-key": () => import("./cli/commands/admin-key.ts").then((m) => m.default),
    doctor: () => import("./cli/commands/doctor.ts").then((m) => m.default),
    sandbox: () => import("./cli/commands/sandbox.ts").then((m) => m.default),
    healthcheck: () => import("./cli/commands/healthcheck.ts").then((m) => m.default),
  },
});

await runMain(main, { rawArgs });
