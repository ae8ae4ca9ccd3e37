// session_history: the transcript of one of the tenant's own sessions. Another tenant's session key
// and a key that does not exist get the same NOT_FOUND (the sessions service only looks in the
// run's tenant).
import { Type as T } from "@sinclair/typebox";
import { defineTool, ok } from "./common.ts";

export const SESSION_KEY_PATTERN = "^[a-z0-9:_-]{1,128}$";

/** A page as JSON within `maxBytes`: items are dropped from the end (and said so) rather than cut mid-way. */
export function fitJson(items: unknown[], nextCursor: string | null, maxBytes: number, name: string): { text: string; truncated: boolean } {
  const render = (n: number) => JSON.stringify({ [name]: items.slice(0, n), nextCursor, ...(n < items.length ? { omitted: items.length - n, note: `${items.length - n} more ${name} on this page did not fit; ask for a smaller limit` } : {}) }, null, 1);
  let n = items.length;
  let text = render(n);
  while (n > 0 && Buffer.byteLength(text) > maxBytes - 64) {
    // Halve quickly while far over, then one at a time.
    n = Buffer.byteLength(text) > 2 * maxBytes ? Math.floor(n / 2) : n - 1;
    text = render(n);
  }
  return { text, truncated: n < items.length };
}

export const sessionHistoryTool = defineTool({
  name: "session_history",
  description: "Reads the transcript of one of this tenant's sessions, oldest entries first. Pass nextCursor back as cursor for more.",
  parameters: T.Object(
    {
      sessionKey: T.String({ pattern: SESSION_KEY_PATTERN, maxLength: 128 }),
      limit: T.Optional(T.Integer({ minimum: 1, maximum: 200, description: "entries per page (default 50)" })),
      cursor: T.Optional(T.String({ minLength: 1, maxLength: 512 })),
    },
    { additionalProperties: false },
  ),
  run(args, ctx) {
    const page = ctx.services.sessions.history(ctx.tenant, args.sessionKey, { limit: args.limit ?? 50, cursor: args.cursor });
    const fit = fitJson(page.entries, page.nextCursor, ctx.maxOutputBytes, "entries");
    return ok(fit.text, fit.truncated);
  },
});
