// file_write: writes a file of the workspace through the files service (the resolver, openat2
// beneath the workspace, links never followed, the tenant's disk limits checked before writing).
import { Type as T } from "@sinclair/typebox";
import { FILES_LIMITS } from "../../files/files.service.ts";
import { defineTool, fail, ok } from "./common.ts";

export const fileWriteTool = defineTool({
  name: "file_write",
  description:
    "Writes a text file in the workspace (path relative to it; missing parent directories are created). mode: overwrite (default, atomic replace), create (fails if the file exists) or append.",
  parameters: T.Object(
    {
      path: T.String({ minLength: 1, maxLength: 4096, description: "file path relative to the workspace" }),
      content: T.String({ maxLength: FILES_LIMITS.maxWriteBytes, description: "the text to write" }),
      mode: T.Optional(T.Union([T.Literal("overwrite"), T.Literal("create"), T.Literal("append")], { default: "overwrite" })),
    },
    { additionalProperties: false },
  ),
  run(args, ctx) {
    const data = Buffer.from(args.content, "utf8");
    if (data.length > FILES_LIMITS.maxWriteBytes) return fail(`PAYLOAD_TOO_LARGE: content is ${data.length} bytes; at most ${FILES_LIMITS.maxWriteBytes} per write`);
    const r = ctx.services.files.write(ctx.tenant, args.path, data, { mode: args.mode ?? "overwrite", mkdirs: true });
    return ok(`${args.mode === "append" ? "appended" : "wrote"} ${data.length} bytes to ${r.path} (now ${r.size} bytes)`);
  },
});
