// file_read: a text file of the workspace, by lines, through the files service (the one resolver
// rooted at the workspace, openat2 beneath it, links never followed at the end). Binary files are
// described, not shown; output is cut at the agent's cap and says where to go on from.
import { Type as T } from "@sinclair/typebox";
import { FILES_LIMITS } from "../../files/files.service.ts";
import { capText, defineTool, looksBinary, ok, truncationNote } from "./common.ts";

const MAX_LINES = 10_000;

export const fileReadTool = defineTool({
  name: "file_read",
  description:
    "Reads a text file in the workspace. path is relative to the workspace. offset is the first line to show (1-based), limit how many lines (default 2000). Long output is cut and says which offset to continue from.",
  parameters: T.Object(
    {
      path: T.String({ minLength: 1, maxLength: 4096, description: "file path relative to the workspace" }),
      offset: T.Optional(T.Integer({ minimum: 1, maximum: 100_000_000, description: "first line to read, 1-based" })),
      limit: T.Optional(T.Integer({ minimum: 1, maximum: MAX_LINES, description: "number of lines to read (default 2000)" })),
    },
    { additionalProperties: false },
  ),
  run(args, ctx) {
    const r = ctx.services.files.read(ctx.tenant, args.path, { length: FILES_LIMITS.maxReadBytes });
    if (r.size === 0) return ok(`${r.path} is empty`);
    if (looksBinary(r.bytes)) return ok(`${r.path} is a binary file (${r.size} bytes); not shown`);
    let text = new TextDecoder().decode(r.bytes);
    if (r.truncated) {
      // Only whole lines of the readable prefix: drop the partial last one.
      const nl = text.lastIndexOf("\n");
      if (nl >= 0) text = text.slice(0, nl + 1);
    }
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const offset = args.offset ?? 1;
    const limit = args.limit ?? 2000;
    if (offset > lines.length) {
      const beyond = r.truncated ? ` (only the first ${FILES_LIMITS.maxReadBytes} bytes are readable by line)` : "";
      return ok(`${r.path} has ${lines.length} line(s); offset ${offset} is past the end${beyond}`);
    }
    const slice = lines.slice(offset - 1, offset - 1 + limit);
    const end = offset - 1 + slice.length;
    // Reserve room for the note, so the cut content plus the note fit within the cap.
    const room = Math.max(0, ctx.maxOutputBytes - 200);
    const body = slice.join("\n");
    const cut = capText(body, room);
    if (cut.truncated) {
      const shownLines = cut.text.split("\n").length - (cut.text.endsWith("\n") ? 1 : 0);
      const whole = Math.max(0, cut.text.endsWith("\n") ? shownLines : shownLines - 1);
      const next = offset + whole;
      return ok(`${cut.text}${truncationNote(`line ${next} and later not shown; continue with offset ${next}`)}`, true);
    }
    const more = end < lines.length || r.truncated;
    if (more) return ok(`${body}${truncationNote(`${end - offset + 1} line(s) shown from ${offset}; continue with offset ${end + 1}`)}`, true);
    return ok(body);
  },
});
