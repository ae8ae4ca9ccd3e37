import { defineCommand } from "citty";
import { redactConfig } from "../../config/redact.ts";
import { action, CliError, commonArgs, emit, line, withCore, type CommonArgs } from "../context.ts";

const check = defineCommand({
  meta: { name: "check", description: "Validate openclaw.json and every tenant overlay; exit 1 on any problem" },
  args: { ...commonArgs },
  run: action<CommonArgs>((args) =>
    withCore(args, (core) => {
      const tenants = core.tenants.list().map((t) => t.tenantId);
      const refused = core.overlays.checkAll(tenants);
      const errors = refused.map((r) => r.message);
      const result = { ok: refused.length === 0, config: core.loaded.exists ? core.configFile : null, overlaysChecked: tenants.length, errors, refusedOverlays: refused };
      emit(args, result, () => {
        if (result.ok) line(`ok: ${core.loaded.exists ? "openclaw.json" : "no openclaw.json (defaults)"} and ${tenants.length} tenant overlay(s) are valid`);
        else line(`openclaw.json is valid; ${refused.length} tenant overlay(s) are refused (the gateway still starts; those tenants' overlay-dependent calls are refused): ${refused.map((r) => r.tenantId).join(", ")}`);
      });
      if (!result.ok) throw new CliError(errors.join("\n"));
    }),
  ),
});

const show = defineCommand({
  meta: { name: "show", description: "Print the effective gateway config with secrets redacted" },
  args: { ...commonArgs },
  run: action<CommonArgs>((args) =>
    withCore(args, (core) => {
      const redacted = redactConfig(core.config);
      emit(args, redacted, () => line(JSON.stringify(redacted, null, 2)));
    }),
  ),
});

export default defineCommand({
  meta: { name: "config", description: "Check and show the gateway config" },
  subCommands: { check, show },
});
