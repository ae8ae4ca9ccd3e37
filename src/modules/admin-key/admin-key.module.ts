// The control-plane (admin) key: its hash in openclaw.json, OPENCLAW_ADMIN_KEY, rotation.
import { auditModule } from "../audit/audit.module.ts";
import { commandsFor, commonArgs } from "../module-cli.ts";
import { defineModule } from "../module.ts";
import { createAdminKeyService, type AdminKeyService } from "./admin-key.service.ts";

const command = commandsFor<{ adminKey: AdminKeyService }>();

const rotate = command({
  description: "Mint a new control-plane key (shown once) and store its hash in openclaw.json",
  args: { ...commonArgs },
  run({ adminKey }, _args, io) {
    const r = adminKey.rotate(io.operator);
    io.emit({ key: r.key, keyId: r.keyId }, () => {
      io.line("✓ new admin key (copy now — shown once):");
      io.line(r.key);
      io.line("✓ its SHA-256 is in openclaw.json (controlPlane.apiKeyHash); the previous key no longer works");
      io.line("  a running gateway picks it up within a second");
    });
  },
});

export const adminKeyModule = defineModule({
  name: "admin-key",
  needs: [auditModule],
  create: (platform, { audit }) => ({
    adminKey: createAdminKeyService({ configFile: platform.configFile, audit, apiKeyHash: () => platform.config().controlPlane.apiKeyHash, envKey: platform.env.adminKey }),
  }),
}).with({
  cli: { "admin-key": { description: "The control-plane (admin) key", commands: { rotate } } },
});
