import { defineCommand } from "citty";
import { startGateway } from "../../http/gateway.ts";
import { action, CliError, commonArgs, openCore, type CommonArgs } from "../context.ts";

export default defineCommand({
  meta: { name: "gateway", description: "Run the gateway in the foreground (SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config)" },
  args: {
    ...commonArgs,
    host: { type: "string", description: "listen address (default gateway.host, 127.0.0.1)" },
    port: { type: "string", description: "listen port (default gateway.port, 18789; 0 picks a free port)" },
  },
  run: action<CommonArgs & { host?: string; port?: string }>(async (args) => {
    let port: number | undefined;
    if (args.port !== undefined) {
      port = Number(args.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be an integer 0-65535 (got ${JSON.stringify(args.port)})`);
    }
    const core = openCore({ ...args, json: false }, { overrides: { host: args.host, port } });
    let gateway;
    try {
      gateway = startGateway(core);
    } catch (err) {
      core.close();
      throw err;
    }
    if (args.json) process.stdout.write(`${JSON.stringify({ url: gateway.url, port: gateway.port })}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        void gateway.stop().then(resolve);
      };
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
    process.exit(0);
  }),
});
