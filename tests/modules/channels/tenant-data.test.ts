// Channels are tenant data: a backup carries them (credentials still sealed), a restore brings them
// back working (on a gateway with the same key) or marked (another key, a copy under another id), and
// deleting or suspending the tenant stops them at once.
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { BOT_A, channelsWorld, type ChannelsWorld } from "./world.ts";

let w: ChannelsWorld | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-ch-bk-")), "alpha.tar.zst");

describe("channels as tenant data", () => {
  test("backup → delete → restore: the channel comes back on its path and answers; the archive holds no credential in clear", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    const secret = w.tg.webhook!.secret_token!;
    const file = tmp();
    await w.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
    const bytes = zlib.zstdDecompressSync(fs.readFileSync(file)).toString("latin1");
    expect(bytes).toContain(paired.channel.id);
    expect(bytes).not.toContain(BOT_A.split(":")[1]!);
    expect(bytes).not.toContain(secret);
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    expect(w.core.handle.sqlite.query("SELECT count(*) AS n FROM channel_accounts").get()).toEqual({ n: 0 });
    const gone = await w.tg.deliver(w.tg.message({ updateId: 1, text: "while deleted" }), secret, `${w.gw.url}${paired.webhookPath}`);
    expect(gone.status).toBe(401);
    await w.core.backups.restore(file, operatorCtx, {});
    expect(w.core.channels.list(scope("alpha")).channels.map((c) => [c.id, c.status, c.webhookPath])).toEqual([[paired.channel.id, "active", paired.webhookPath]]);
    w.fake.script("after-restore", [{ text: "back again" }]);
    const r = await w.tg.deliver(w.tg.message({ updateId: 2, text: "after-restore" }), secret, `${w.gw.url}${paired.webhookPath}`);
    expect(r.status).toBe(200);
    await w.idle();
    expect(w.tg.sent("sendMessage").map((c) => c.body.text)).toEqual(["back again"]);
  });

  test("a copy under another id gets a new path and shows that its credentials are not its own; the original keeps working", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    const file = tmp();
    await w.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
    await w.core.backups.restore(file, operatorCtx, { as: "alpha-copy" });
    const copy = w.core.channels.list(scope("alpha-copy")).channels[0]!;
    expect(copy.webhookPath).not.toBe(paired.webhookPath);
    expect(copy.status).toBe("error");
    expect(copy.lastError).toContain("pair it again");
    const r = await w.tg.deliver(w.tg.message({ updateId: 3, text: "to the copy" }), undefined, `${w.gw.url}${copy.webhookPath}`);
    expect(r.status).toBe(401);
    expect(w.core.channels.list(scope("alpha")).channels[0]!.status).toBe("active");
  });

  test("restored on a gateway with another key: the channel shows the error and refuses deliveries, nothing opens", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    const secret = w.tg.webhook!.secret_token!;
    const file = tmp();
    await w.core.backups.backup(scope("alpha"), file, operatorCtx, { origin: "operator" });
    const cfg = JSON.parse(fs.readFileSync(w.core.configFile, "utf8"));
    cfg.gateway.channels.secretKey = "another-gateway-key-abcdefghijklmnop";
    fs.writeFileSync(w.core.configFile, JSON.stringify(cfg));
    w.core.reloadConfig();
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    await w.core.backups.restore(file, operatorCtx, {});
    const c = w.core.channels.list(scope("alpha")).channels[0]!;
    expect([c.status, c.lastError]).toEqual(["error", "secrets cannot be opened with this gateway's channels.secretKey"]);
    const r = await w.tg.deliver(w.tg.message({ updateId: 4, text: "x" }), secret, `${w.gw.url}${paired.webhookPath}`);
    expect(r.status).toBe(401);
  });

  test("suspending the tenant ends its queued and running channel work; deleting it removes its channels, peers and inbox", async () => {
    w = await channelsWorld();
    const paired = await w.pairTelegram();
    w.fake.script("slow-one", [{ text: "late answer", delayMs: 3000 }]);
    await w.tg.deliver(w.tg.message({ updateId: 1, text: "slow-one" }), undefined, `${w.gw.url}${paired.webhookPath}`);
    await Bun.sleep(300);
    w.core.tenants.suspend(scope("alpha"), operatorCtx);
    await w.idle();
    expect(w.tg.sent("sendMessage")).toEqual([]);
    expect(w.inbox("alpha").map((r) => r.status)).toEqual(["dropped"]);
    w.core.tenants.remove(scope("alpha"), operatorCtx);
    for (const t of ["channel_accounts", "channel_peers", "channel_inbox"]) expect(w.core.handle.sqlite.query(`SELECT count(*) AS n FROM ${t}`).get()).toEqual({ n: 0 });
    expect(w.core.channelsEngine.registry.lookup(paired.webhookPath.split("/").at(-1)!)).toBeUndefined();
  });
});
