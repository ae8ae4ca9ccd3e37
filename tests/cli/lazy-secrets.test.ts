// ${NAME} references are resolved only where their values are used (issue 15 §7): commands that do not
// call providers work without the providers' keys exported; what does use a missing one names it.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startGateway } from "../../src/http/gateway.ts";
import { cli } from "../helpers/cli.ts";
import { makeHome, testCore } from "../helpers/core.ts";

function home(): string {
  const h = makeHome();
  const config = {
    gateway: { port: 0 },
    providers: { openai: { kind: "openai", baseUrl: "https://api.openai.com/v1", apiKey: "${OPENAI_API_KEY}" } },
    models: { m: { provider: "openai", upstreamModel: "gpt-4o-mini", free: true } },
    backup: { encryptionKey: "${BACKUP_KEY}" },
  };
  fs.writeFileSync(path.join(h, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
  return h;
}

describe("secrets resolved where they are used", () => {
  test("tenants create/list and admin-key rotate work with the provider's variable unset", async () => {
    const h = home();
    const created = await cli(h, ["tenants", "create", "acme", "--json"]);
    expect([created.code, created.err]).toEqual([0, ""]);
    const list = await cli(h, ["tenants", "list", "--json"]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.out).map((t: { tenantId: string }) => t.tenantId)).toEqual(["acme"]);
    const rotated = await cli(h, ["admin-key", "rotate", "--json"]);
    expect(rotated.code).toBe(0);
    // The rotation edited the file, leaving the reference as written.
    const written = fs.readFileSync(path.join(h, "openclaw.json"), "utf8");
    expect(written).toContain("${OPENAI_API_KEY}");
    expect(written).toContain("apiKeyHash");
  });

  test("config check and the gateway's start name the missing variable", async () => {
    const h = home();
    const check = await cli(h, ["config", "check"]);
    expect(check.code).toBe(1);
    expect(check.err).toContain('"providers.openai.apiKey" references ${OPENAI_API_KEY}, which is not set in the environment');
    expect(check.err).toContain('"backup.encryptionKey" references ${BACKUP_KEY}');
    const core = testCore({ home: h });
    try {
      expect(() => startGateway(core)).toThrow("${OPENAI_API_KEY}, which is not set");
    } finally {
      core.close();
    }
    // With the variables set, the same config starts.
    const ok = testCore({ home: h, env: { OPENAI_API_KEY: "sk-x", BACKUP_KEY: "0123456789abcdef0123" } });
    const gw = startGateway(ok, {});
    await gw.stop();
    ok.close();
  });

  test("a backup, which uses the encryption key, refuses naming its variable", async () => {
    const h = home();
    await cli(h, ["tenants", "create", "acme"]);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bk-")), "acme.tar.zst");
    const r = await cli(h, ["tenants", "backup", "acme", "--to", file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('"backup.encryptionKey" references ${BACKUP_KEY}, which is not set in the environment');
    expect(r.err).not.toContain("OPENAI_API_KEY");
    expect(fs.existsSync(file)).toBe(false);
  });

  test("a reload of the serving gateway that would leave a variable unresolved is refused", async () => {
    const h = home();
    const core = testCore({ home: h, env: { OPENAI_API_KEY: "sk-x", BACKUP_KEY: "0123456789abcdef0123" } });
    const gw = startGateway(core);
    try {
      const cfg = JSON.parse(fs.readFileSync(path.join(h, "openclaw.json"), "utf8"));
      cfg.providers.openai.headers = { "x-org": "${ORG_ID}" };
      fs.writeFileSync(path.join(h, "openclaw.json"), JSON.stringify(cfg));
      expect(() => core.reloadConfig()).toThrow('"providers.openai.headers.x-org" references ${ORG_ID}');
      expect(core.config.providers.openai!.headers).toBeUndefined();
    } finally {
      await gw.stop();
      core.close();
    }
  });
});
