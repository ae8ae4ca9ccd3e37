// file_edit: exact-match replacements in one text file of the workspace. Each oldText must occur
// exactly once (in the text as the earlier edits left it); any edit that does not is named and
// nothing is written. The result is written once, atomically, and only if the file did not change
// while the edits were worked out.
import { Type as T } from "@sinclair/typebox";
import { FILES_LIMITS } from "../../files/files.service.ts";
import { defineTool, fail, looksBinary, ok } from "./common.ts";

const MAX_EDIT_CHARS = 1_048_576;

function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0 && n < 2; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

export const fileEditTool = defineTool({
  name: "file_edit",
  description:
    "Edits a text file in the workspace by exact replacements: each edit's oldText must appear exactly once in the file (as earlier edits in the list left it) and is replaced by newText. All edits apply or none.",
  parameters: T.Object(
    {
      path: T.String({ minLength: 1, maxLength: 4096, description: "file path relative to the workspace" }),
      edits: T.Array(
        T.Object(
          {
            oldText: T.String({ minLength: 1, maxLength: MAX_EDIT_CHARS, description: "exact text to replace; must occur once" }),
            newText: T.String({ maxLength: MAX_EDIT_CHARS, description: "replacement text" }),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 100 },
      ),
    },
    { additionalProperties: false },
  ),
  run(args, ctx) {
    const { files } = ctx.services;
    const before = files.stat(ctx.tenant, args.path);
    const r = files.read(ctx.tenant, args.path, { length: FILES_LIMITS.maxReadBytes });
    if (r.truncated) return fail(`PAYLOAD_TOO_LARGE: ${r.path} is larger than ${FILES_LIMITS.maxReadBytes} bytes; it cannot be edited in one piece`);
    if (looksBinary(r.bytes)) return fail(`INVALID_PARAMS: ${r.path} is a binary file; only text files can be edited`);
    let text = new TextDecoder().decode(r.bytes);
    for (const [i, e] of args.edits.entries()) {
      const n = occurrences(text, e.oldText);
      const which = `edit ${i + 1} of ${args.edits.length}`;
      if (n === 0) return fail(`INVALID_PARAMS: ${which}: oldText was not found in ${r.path}${i > 0 ? " (after the earlier edits)" : ""}; nothing was changed`);
      if (n > 1) return fail(`INVALID_PARAMS: ${which}: oldText occurs more than once in ${r.path}; give more surrounding text so it matches exactly once; nothing was changed`);
      const at = text.indexOf(e.oldText);
      text = text.slice(0, at) + e.newText + text.slice(at + e.oldText.length);
    }
    const now = files.stat(ctx.tenant, args.path);
    if (now.mtime !== before.mtime || now.size !== before.size) return fail(`CONFLICT: ${r.path} changed while it was being edited; nothing was written, read it again`);
    const w = files.write(ctx.tenant, args.path, Buffer.from(text, "utf8"), { mode: "overwrite" });
    return ok(`applied ${args.edits.length} edit(s) to ${w.path} (now ${w.size} bytes)`);
  },
});
