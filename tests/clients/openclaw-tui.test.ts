// Upstream's terminal UI (`openclaw tui --url … --token …`, the pinned package under Node 24) driven in
// a pseudo-terminal (Bun.spawn's `terminal`) against our gateway: it connects, shows the tenant's own
// history (not the other tenant's), a typed message is sent and the streamed reply appears.
import { describe, expect, test } from "bun:test";
import { clientEnv, clientsSuite, rpcTurn } from "./harness.ts";

const suite = clientsSuite("openclaw-tui");

/** What a terminal shows, near enough: the output with escape sequences (CSI, OSC) taken out. */
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, "");

class Tui {
  out = "";
  readonly proc: ReturnType<typeof Bun.spawn>;
  constructor(token: string) {
    const { env } = clientEnv(suite.u, suite.tap.url, token);
    this.proc = Bun.spawn([suite.u.node, suite.u.entry, "tui", "--url", suite.tap.url, "--token", token], {
      cwd: env.HOME,
      env,
      terminal: { cols: 140, rows: 45, data: (_t, d) => void (this.out += Buffer.from(d).toString()) },
    });
  }
  screen(): string {
    return plain(this.out);
  }
  async waitFor(pred: (screen: string) => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this.screen())) {
      if (Date.now() > end || this.proc.exitCode !== null) {
        throw new Error(`TUI: ${what} did not happen within ${timeoutMs} ms${this.proc.exitCode !== null ? ` (it exited ${this.proc.exitCode})` : ""}\n--- screen (tail)\n${this.screen().slice(-2500)}\n--- frames (client > gateway, < back)\n${suite.tap.transcript()}`);
      }
      await Bun.sleep(200);
    }
  }
  async type(text: string): Promise<void> {
    this.proc.terminal!.write(text);
    await Bun.sleep(300);
    this.proc.terminal!.write("\r");
  }
  async stop(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.proc.exited;
    this.proc.terminal?.close();
  }
}

describe("openclaw tui (upstream TUI) against our gateway", () => {
  test("connects, shows only the tenant's own history, sends a typed message and shows the streamed reply", async () => {
    // Beta has a session with a secret in it; alpha's TUI must never show it.
    suite.w.fake.script("beta secret question", [{ text: "beta-secret-answer" }]);
    await rpcTurn(suite.w, suite.w.beta, "agent:main:main", "beta secret question");

    const tui = new Tui(suite.w.alpha);
    try {
      await tui.waitFor((s) => /connected \| idle/.test(s.slice(-3000)), "connected and idle");
      // The reply streams in two chunks; the screen shows the whole text at the end.
      suite.w.fake.script("hello from the tui", [{ text: "alpha-tui-reply streamed in words" }]);
      await tui.type("hello from the tui");
      await tui.waitFor((s) => s.includes("alpha-tui-reply streamed in words"), "the streamed reply on screen");
      const screen = tui.screen();
      expect(screen).toContain("hello from the tui");
      expect(screen).not.toContain("beta-secret");
      expect(screen).not.toContain("beta secret question");
      // The turn ran as alpha's agent: the frames carried chat events for alpha's session only.
      const chat = suite.tap.frames.filter((f) => f.dir === "<" && f.data.includes('"event":"chat"')).map((f) => JSON.parse(f.data).payload);
      expect(chat.some((p) => p.state === "final")).toBe(true);
      expect(chat.every((p) => p.sessionKey === "agent:main:main")).toBe(true);
    } finally {
      await tui.stop();
    }
  }, 300_000);

  test("a wrong token: the TUI never connects and no model call is made", async () => {
    const before = suite.w.fake.requests.length;
    const tui = new Tui(`${suite.w.alpha.slice(0, -4)}zzzz`);
    try {
      await tui.waitFor((s) => /unauthorized|token mismatch|disconnected|gateway closed/i.test(s), "an authentication error on screen");
      expect(tui.screen()).not.toMatch(/connected \| idle/);
      expect(suite.w.fake.requests.length).toBe(before);
    } finally {
      await tui.stop();
    }
  }, 180_000);
});
