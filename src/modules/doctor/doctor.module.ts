// `openclaw doctor`: checks an operator can act on (permissions, database, config, overlays, admin
// key, audit chain, sandboxes, disk).
import { adminKeyModule } from "../admin-key/admin-key.module.ts";
import { auditModule } from "../audit/audit.module.ts";
import { diskModule } from "../disk/disk.module.ts";
import { CliError, commandsFor, commonArgs } from "../module-cli.ts";
import { defineModule } from "../module.ts";
import { overlaysModule } from "../overlays/overlays.module.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { doctorRoutes } from "./doctor.routes.ts";
import { runDoctor } from "./doctor.service.ts";

const command = commandsFor<{ doctor: { run: () => ReturnType<typeof runDoctor> } }>();

const doctor = command({
  description: "Check the installation: state directory permissions, database, audit log, config",
  args: { ...commonArgs },
  async run({ doctor }, _args, io) {
    const checks = await doctor.run();
    io.emit({ ok: checks.every((c) => c.status !== "fail"), checks }, () => {
      for (const c of checks) io.line(`${c.status === "ok" ? "✓" : c.status === "warn" ? "!" : "✗"} ${c.name}: ${c.detail}`);
    });
    if (checks.some((c) => c.status === "fail")) throw new CliError("some checks failed");
  },
});

export const doctorModule = defineModule({
  name: "doctor",
  needs: [auditModule, adminKeyModule, overlaysModule, tenantsModule, diskModule, sandboxModule],
  create: (platform, deps) => ({
    doctor: { run: () => runDoctor({ home: platform.home, configFile: platform.configFile, config: platform.config, handle: platform.handle, ...deps }) },
  }),
}).with({
  admin: doctorRoutes,
  cli: { doctor },
});
