// `openclaw healthcheck`: exits 0 when the local gateway answers /readyz with 200 (for Docker's
// HEALTHCHECK and service monitors that have no HTTP client of their own).
import path from "node:path";
import { defineCommand } from "citty";
import { loadGatewayConfig } from "../config/load.ts";
import { commonArgs } from "../modules/module-cli.ts";
import { action, CliError, type CliRuntime, type CommonArgs, type Outcome } from "./context.ts";

export function healthcheckCommand(rt: CliRuntime, outcome: Outcome) {
  return defineCommand({
    meta: { name: "healthcheck", description: "Exit 0 if the gateway answers /readyz (default: the configured port on 127.0.0.1)" },
    args: {
      ...commonArgs,
      url: { type: "string", description: "readiness URL to ask instead (a base URL such as http://host:port asks its /readyz)" },
      wait: { type: "string", description: "keep asking for up to this many seconds (a gateway that is starting)" },
    },
    run: async ({ args }) => {
      outcome.code = await action(rt, args as CommonArgs, async () => {
        let url = args.url ? readinessUrl(args.url) : undefined;
        if (!url) {
          // Only the config is read (no database): this runs every few seconds in a container.
          const { config } = loadGatewayConfig(path.resolve(args.home ?? rt.env.home), rt.env);
          url = `http://127.0.0.1:${config.gateway.port}/readyz`;
        }
        const waitMs = args.wait === undefined ? 0 : Number(args.wait) * 1000;
        if (!Number.isFinite(waitMs) || waitMs < 0) throw new CliError("--wait must be a number of seconds");
        const deadline = Date.now() + waitMs;
        let problem = "";
        while (true) {
          try {
            const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
            if (res.status === 200) break;
            problem = `HTTP ${res.status}`;
          } catch (err) {
            problem = err instanceof Error ? err.message : String(err);
          }
          if (Date.now() >= deadline) throw new CliError(`${url}: ${problem}`);
          await Bun.sleep(100);
        }
        rt.stdout(args.json ? `${JSON.stringify({ ready: true, url })}\n` : `ready (${url})\n`);
        return undefined;
      });
    },
  });
}

/** A base URL (no path, or just "/") means the gateway at that address: ask its /readyz. */
export function readinessUrl(given: string): string {
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new CliError(`--url ${JSON.stringify(given)} is not a URL (e.g. http://127.0.0.1:18789)`);
  }
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/readyz";
  return u.toString();
}
