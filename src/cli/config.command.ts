// `openclaw config check | show`: the gateway config (and every tenant overlay, for check).
import { defineCommand } from "citty";
import { missingMessage } from "../config/env-refs.ts";
import { redactConfig } from "../config/redact.ts";
import { commonArgs } from "../modules/module-cli.ts";
import { action, CliError, openCore, type CliRuntime, type CommonArgs, type Outcome } from "./context.ts";

export function configCommand(rt: CliRuntime, outcome: Outcome) {
  const emit = (args: CommonArgs, value: unknown, human: () => void) => (args.json ? rt.stdout(`${JSON.stringify(value, null, 2)}\n`) : human());
  const line = (text: string) => rt.stdout(`${text}\n`);

  const check = defineCommand({
    meta: { name: "check", description: "Validate openclaw.json and every tenant overlay; exit 1 on any problem" },
    args: { ...commonArgs },
    run: async ({ args }) => {
      outcome.code = await action(rt, args, async () => {
        const core = openCore(args, rt);
        try {
          const tenants = core.tenants.list().map((t) => t.tenantId);
          const refused = core.overlays.checkAll(tenants);
          // The gateway needs every ${NAME} set to start; other commands only the ones they use.
          const missing = core.loaded.unresolved.map((r) => missingMessage("openclaw.json", r));
          const errors = [...missing, ...refused.map((r) => r.message)];
          const result = { ok: errors.length === 0, config: core.loaded.exists ? core.configFile : null, overlaysChecked: tenants.length, errors, refusedOverlays: refused };
          emit(args, result, () => {
            if (result.ok) line(`ok: ${core.loaded.exists ? "openclaw.json" : "no openclaw.json (defaults)"} and ${tenants.length} tenant overlay(s) are valid`);
            else if (missing.length > 0) line(`openclaw.json references ${missing.length} environment variable(s) that are not set: the gateway will not start without them`);
            else line(`openclaw.json is valid; ${refused.length} tenant overlay(s) are refused (the gateway still starts; those tenants' overlay-dependent calls are refused): ${refused.map((r) => r.tenantId).join(", ")}`);
          });
          if (!result.ok) throw new CliError(errors.join("\n"));
          return undefined;
        } finally {
          core.close();
        }
      });
    },
  });

  const show = defineCommand({
    meta: { name: "show", description: "Print the effective gateway config with secrets redacted" },
    args: { ...commonArgs },
    run: async ({ args }) => {
      outcome.code = await action(rt, args, async () => {
        const core = openCore(args, rt);
        try {
          const redacted = redactConfig(core.config);
          emit(args, redacted, () => line(JSON.stringify(redacted, null, 2)));
          return undefined;
        } finally {
          core.close();
        }
      });
    },
  });

  return defineCommand({ meta: { name: "config", description: "Check and show the gateway config" }, subCommands: { check, show } });
}
