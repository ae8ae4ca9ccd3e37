// SKILL.md (the Agent Skills format): YAML front matter between two `---` lines, then the body the
// agent reads on demand. The front matter is parsed by Bun's YAML parser (no code, no custom tags;
// it refuses excessive aliasing) after a size cap, and only `name` and `description` are used: both
// must be plain strings, the name the folder's.
import { PACKAGE_NAME } from "./package.types.ts";

export const MAX_FRONT_MATTER = 8 * 1024;
export const MAX_DESCRIPTION = 1024;

export class PackageProblem extends Error {}

export function parseSkillMd(text: string, folder: string | null): { name: string; description: string; body: string } {
  const t = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const m = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(t);
  if (!m) throw new PackageProblem("SKILL.md has no front matter (it must start with a --- line, then name and description, then ---)");
  const yaml = m[1]!;
  if (Buffer.byteLength(yaml) > MAX_FRONT_MATTER) throw new PackageProblem(`SKILL.md's front matter is larger than ${MAX_FRONT_MATTER} bytes`);
  let data: unknown;
  try {
    data = Bun.YAML.parse(yaml);
  } catch (err) {
    throw new PackageProblem(`SKILL.md's front matter is not valid YAML (${String((err as Error).message).split("\n")[0]!.slice(0, 200)})`);
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new PackageProblem("SKILL.md's front matter is not a mapping of keys to values");
  const fm = data as Record<string, unknown>;
  const name = Object.hasOwn(fm, "name") ? fm.name : undefined;
  const description = Object.hasOwn(fm, "description") ? fm.description : undefined;
  if (typeof name !== "string" || !PACKAGE_NAME.test(name)) throw new PackageProblem(`SKILL.md's name must be a string matching ${PACKAGE_NAME.source}`);
  if (folder !== null && name !== folder) throw new PackageProblem(`SKILL.md names the skill ${JSON.stringify(name)}, but its folder is ${JSON.stringify(folder)}`);
  if (typeof description !== "string" || description.trim() === "") throw new PackageProblem("SKILL.md's description must be a non-empty string");
  if (description.length > MAX_DESCRIPTION) throw new PackageProblem(`SKILL.md's description is longer than ${MAX_DESCRIPTION} characters`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(description)) throw new PackageProblem("SKILL.md's description contains a control character");
  return { name, description: description.trim(), body: t.slice(m[0].length) };
}
