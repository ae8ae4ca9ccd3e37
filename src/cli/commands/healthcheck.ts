// `openclaw healthcheck`: exits 0 when the local gateway answers /readyz with 200 (for Docker's
// HEALTHCHECK and service monitors that have no HTTP client of their own).
import { defineCommand } from "citty";
import path from "node:path";
import { readEnvironment } from "../../config/env.ts";
import { loadGatewayConfig } from "../../config/load.ts";
import { action, CliError, commonArgs, line, type CommonArgs } from "../context.ts";

export default defineCommand({
  meta: { name: "healthcheck", description: "Exit 0 if the gateway answers /readyz (default: the configured port on 127.0.0.1)" },
  args: { ...commonArgs, url: { type: "string", description: "readiness URL to ask instead" } },
  run: action<CommonArgs & { url?: string }>(async (args) => {
    let url = args.url;
    if (!url) {
      // Only the config is read (no database): this runs every few seconds in a container.
      const env = readEnvironment();
      const { config } = loadGatewayConfig(path.resolve(args.home ?? env.home), env);
      url = `http://127.0.0.1:${config.gateway.port}/readyz`;
    }
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    } catch (err) {
      throw new CliError(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.status !== 200) throw new CliError(`${url}: HTTP ${res.status}`);
    if (!args.json) line(`ready (${url})`);
    else line(JSON.stringify({ ready: true, url }));
  }),
});
