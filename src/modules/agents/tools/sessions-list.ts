// sessions_list: the tenant's own sessions (services.sessions is asked for the run's tenant only).
import { Type as T } from "@sinclair/typebox";
import { defineTool, ok } from "./common.ts";
import { fitJson } from "./session-history.ts";

export const sessionsListTool = defineTool({
  name: "sessions_list",
  description: "Lists this tenant's agent sessions, most recent first: key, session id, agent, times and entry count. Pass nextCursor back as cursor for more.",
  parameters: T.Object(
    {
      limit: T.Optional(T.Integer({ minimum: 1, maximum: 100, description: "sessions per page (default 20)" })),
      cursor: T.Optional(T.String({ minLength: 1, maxLength: 512 })),
    },
    { additionalProperties: false },
  ),
  run(args, ctx) {
    const page = ctx.services.sessions.list(ctx.tenant, { limit: args.limit ?? 20, cursor: args.cursor });
    const fit = fitJson(page.sessions, page.nextCursor, ctx.maxOutputBytes, "sessions");
    return ok(fit.text, fit.truncated);
  },
});
