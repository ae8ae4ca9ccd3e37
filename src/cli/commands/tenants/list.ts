import { defineCommand } from "citty";
import { action, commonArgs, emit, line, withCore, type CommonArgs } from "../../context.ts";

export default defineCommand({
  meta: { name: "list", description: "List tenants" },
  args: { ...commonArgs },
  run: action<CommonArgs>((args) =>
    withCore(args, (core) => {
      const tenants = core.tenants.list();
      emit(args, tenants, () => {
        if (tenants.length === 0) return line("No tenants. Create one with: openclaw tenants create <id>");
        for (const t of tenants) {
          const name = t.displayName ? ` (${t.displayName})` : "";
          line(`${t.tenantId}${name}  ${t.status}  created ${t.createdAt}  token ${t.token.prefix ?? "-"}`);
        }
      });
    }),
  ),
});
