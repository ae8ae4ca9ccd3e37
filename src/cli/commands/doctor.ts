import { defineCommand } from "citty";
import { runDoctor } from "../../modules/doctor/doctor.service.ts";
import { action, CliError, commonArgs, emit, line, withCore, type CommonArgs } from "../context.ts";

export default defineCommand({
  meta: { name: "doctor", description: "Check the installation: state directory permissions, database, audit log, config" },
  args: { ...commonArgs },
  run: action<CommonArgs>((args) =>
    withCore(args, async (core) => {
      const checks = await runDoctor(core);
      emit(args, { ok: checks.every((c) => c.status !== "fail"), checks }, () => {
        for (const c of checks) line(`${c.status === "ok" ? "✓" : c.status === "warn" ? "!" : "✗"} ${c.name}: ${c.detail}`);
      });
      if (checks.some((c) => c.status === "fail")) throw new CliError("some checks failed");
    }),
  ),
});
