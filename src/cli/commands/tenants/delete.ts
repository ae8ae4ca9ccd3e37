import { defineCommand } from "citty";
import { action, CliError, commonArgs, emit, line, operator, withCore, type CommonArgs } from "../../context.ts";

export default defineCommand({
  meta: { name: "delete", description: "Delete a tenant: its record, token hashes and directory (the audit log keeps its records)" },
  args: {
    ...commonArgs,
    id: { type: "positional", required: true, description: "tenant id" },
    confirm: { type: "boolean", description: "required: confirms the deletion" },
  },
  run: action<CommonArgs & { id: string; confirm?: boolean }>((args) =>
    withCore(args, (core) => {
      if (!args.confirm) {
        core.tenants.get(args.id); // unknown tenant: say so rather than ask for --confirm
        throw new CliError(`deleting tenant "${args.id}" wipes tenants/${args.id} and its token; nothing was changed. Re-run with --confirm`);
      }
      const result = core.tenants.remove(args.id, operator(core));
      emit(args, result, () => {
        line(`✓ tenant directory wiped · tenants/${args.id}`);
        line("✓ token hash removed");
        line(`✓ tenant ${args.id} deleted (the audit log keeps its records)`);
      });
    }),
  ),
});
