// file_list: one directory of the workspace, bounded, through the files service. Links are shown
// with their text and never followed.
import { Type as T } from "@sinclair/typebox";
import { defineTool, ok } from "./common.ts";

export const fileListTool = defineTool({
  name: "file_list",
  description: "Lists a directory of the workspace (the workspace itself when path is omitted): one entry per line, directories end in /, links show their target.",
  parameters: T.Object(
    {
      path: T.Optional(T.String({ maxLength: 4096, description: "directory relative to the workspace" })),
      limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000, description: "most entries to list (default 200)" })),
    },
    { additionalProperties: false },
  ),
  run(args, ctx) {
    const limit = args.limit ?? 200;
    const r = ctx.services.files.list(ctx.tenant, args.path, { limit });
    const where = r.path === "" ? "the workspace" : r.path;
    if (r.total === 0) return ok(`${where} is empty`);
    const lines = r.entries.map((e) => {
      if (e.kind === "directory") return `${e.path}/`;
      if (e.kind === "symlink") return `${e.path} -> ${e.target ?? "?"} (link)`;
      if (e.kind === "other") return `${e.path} (special file)`;
      return `${e.path} (${e.size} bytes)`;
    });
    const head = `${where}: ${r.total} entr${r.total === 1 ? "y" : "ies"}`;
    if (r.truncated) return ok(`${head}\n${lines.join("\n")}\n[output truncated: ${r.total - r.entries.length} more entries not shown]`, true);
    return ok(`${head}\n${lines.join("\n")}`);
  },
});
