import { defineCommand } from "citty";
import { rotateAdminKey } from "../../modules/admin-key/admin-key.service.ts";
import { action, commonArgs, emit, line, operator, withCore, type CommonArgs } from "../context.ts";

const rotate = defineCommand({
  meta: { name: "rotate", description: "Mint a new control-plane key (shown once) and store its hash in openclaw.json" },
  args: { ...commonArgs },
  run: action<CommonArgs>((args) =>
    withCore(args, (core) => {
      const r = rotateAdminKey({ configFile: core.configFile, audit: core.audit }, operator(core));
      emit(args, { key: r.key, keyId: r.keyId }, () => {
        line("✓ new admin key (copy now — shown once):");
        line(r.key);
        line("✓ its SHA-256 is in openclaw.json (controlPlane.apiKeyHash); the previous key no longer works");
        line("  a running gateway picks it up within a second");
      });
    }),
  ),
});

export default defineCommand({
  meta: { name: "admin-key", description: "The control-plane (admin) key" },
  subCommands: { rotate },
});
