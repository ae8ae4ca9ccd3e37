import { defineCommand } from "citty";
import { action, commonArgs, emit, line, operator, withCore, type CommonArgs } from "../../context.ts";

const make = (verb: "suspend" | "resume", description: string) =>
  defineCommand({
    meta: { name: verb, description },
    args: { ...commonArgs, id: { type: "positional", required: true, description: "tenant id" } },
    run: action<CommonArgs & { id: string }>((args) =>
      withCore(args, (core) => {
        const t = verb === "suspend" ? core.tenants.suspend(args.id, operator(core)) : core.tenants.resume(args.id, operator(core));
        emit(args, t, () => line(`✓ tenant ${t.tenantId} is ${t.status}`));
      }),
    ),
  });

export const suspend = make("suspend", "Suspend a tenant: its token is refused until it is resumed");
export const resume = make("resume", "Resume a suspended tenant");
