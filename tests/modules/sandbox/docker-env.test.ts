// Docker mode: a tenant's variables reach the container and nothing else. The docker CLI runs as
// the gateway's user (root, often) with a fixed environment; DOCKER_HOST, DOCKER_CONFIG,
// DOCKER_CONTEXT, LD_PRELOAD or HOME given by a tenant must not steer it (the review's DOCKER_HOST
// made the CLI connect to a service outside every egress allow-list and echo its reply).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureSandboxImage, MODES, sandboxWorld } from "../../helpers/sandbox.ts";
import { scope } from "../../helpers/core.ts";

beforeAll(async () => {
  await ensureSandboxImage();
});

const CLI_VARS = ["PATH", "HOME", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"];

/** The environment of the `docker run` process that started this home's container, if it is running. */
function dockerRunEnv(homeLabel: string): string[] | null {
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv[1] === "run" && argv.includes(`openclaw.home=${homeLabel}`)) return fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
    } catch {
      // the process ended meanwhile
    }
  }
  return null;
}

describe("docker mode: the tenant's variables reach only the container", () => {
  let connections = 0;
  let listener: Bun.TCPSocketListener<undefined>;
  beforeAll(() => {
    listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void (connections++, s.end("HTTP/1.1 200 OK\r\n\r\n{}")), data() {} } });
  });
  afterAll(() => listener.stop(true));

  for (const m of MODES.slice(1)) {
    test(`${m.label}: DOCKER_HOST, DOCKER_CONFIG, DOCKER_CONTEXT, LD_PRELOAD do not reach the CLI; every value arrives intact`, async () => {
      const w = sandboxWorld(m);
      const config = fs.mkdtempSync(path.join(os.tmpdir(), "tenant-docker-config-"));
      fs.writeFileSync(path.join(config, "config.json"), "{ this is not json");
      const marker = `tenant-marker-${Math.random().toString(36).slice(2)}`;
      const env: Record<string, string> = {
        DOCKER_HOST: `tcp://127.0.0.1:${listener.port}`,
        DOCKER_CONFIG: config,
        DOCKER_CONTEXT: "tenant-context",
        LD_PRELOAD: "/work/preload.so",
        MARKER: marker,
        TRICKY: ` a=b #not a comment 'single' "double" $HOME \`x\` \\ ü ${marker}  `,
      };
      connections = 0;
      const run = w.core.sandbox.run({ tenant: scope("alpha"), command: ["/bin/sh", "-c", "sleep 2; env"], env, origin: "rpc" });
      let cli: string[] | null = null;
      for (let i = 0; i < 200 && !cli; i++) {
        cli = dockerRunEnv(w.core.sandbox.homeLabel);
        if (!cli) await Bun.sleep(20);
      }
      const r = await run;
      expect({ exitCode: r.exitCode, stderr: r.stderr, connections }).toEqual({ exitCode: 0, stderr: "", connections: 0 });
      const inside = new Set(r.stdout.split("\n"));
      for (const [k, v] of Object.entries(env)) expect({ k, got: inside.has(`${k}=${v}`) }).toEqual({ k, got: true });
      expect(inside.has("HOME=/work")).toBe(true);
      // The CLI saw only the gateway's own settings: none of the tenant's names or values.
      expect(cli).not.toBeNull();
      const names = cli!.map((l) => l.slice(0, l.indexOf("=")));
      expect(names.filter((n) => !CLI_VARS.includes(n))).toEqual([]);
      for (const [k, v] of Object.entries(env)) expect({ k, leaked: cli!.some((l) => l === `${k}=${v}`) }).toEqual({ k, leaked: false });
      expect(cli!.join("\n")).not.toContain(marker);
      expect(cli).not.toContain("HOME=/work");
      // The env-file was private and is gone.
      expect(fs.readdirSync(path.join(w.core.home, "run")).filter((n) => n.includes(".env"))).toEqual([]);
      w.core.close();
    }, 60_000);
  }

  test("a value with a line break is refused in docker mode (the env-file is line-based), and passes in bwrap", async () => {
    const w = sandboxWorld(MODES[1]!);
    await expect(w.core.sandbox.run({ tenant: scope("alpha"), command: ["true"], env: { A: "one\nB=injected" }, origin: "rpc" })).rejects.toThrow("environment variable A holds a line break, which docker mode cannot pass");
    const b = await w.core.sandbox.run({ tenant: scope("alpha"), mode: "bwrap", command: ["/bin/sh", "-c", 'printf %s "$A"'], env: { A: "one\nB=two" }, origin: "rpc" });
    expect(b.stdout).toBe("one\nB=two");
    w.core.close();
  }, 30_000);
});
