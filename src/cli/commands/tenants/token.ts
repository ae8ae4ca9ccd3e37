import { defineCommand } from "citty";
import { parseDuration } from "../../../lib/duration.ts";
import { action, CliError, commonArgs, emit, line, operator, withCore, type CommonArgs } from "../../context.ts";

const rotate = defineCommand({
  meta: { name: "rotate", description: "Mint a new token (shown once); the old one stops working now or after --grace" },
  args: {
    ...commonArgs,
    id: { type: "positional", required: true, description: "tenant id" },
    grace: { type: "string", description: 'keep the old token working this long: "0" (default), "90s", "15m", "1h", "7d"' },
  },
  run: action<CommonArgs & { id: string; grace?: string }>((args) =>
    withCore(args, (core) => {
      const grace = parseDuration(args.grace ?? "0");
      if (grace === null) throw new CliError(`--grace ${JSON.stringify(args.grace)} is not a duration (e.g. 0, 90s, 15m, 1h, 7d)`);
      const r = core.tenants.rotateToken(args.id, grace, operator(core));
      emit(args, r, () => {
        line(`✓ new token for ${r.tenantId} (copy now — shown once):`);
        line(r.token);
        line(r.graceUntil ? `✓ the old token keeps working until ${r.graceUntil}` : "✓ the old token stops working now: requests with it get 401");
      });
    }),
  ),
});

export default defineCommand({
  meta: { name: "token", description: "Tenant tokens" },
  subCommands: { rotate },
});
