// `openclaw gateway`: run the gateway in the foreground until SIGTERM or SIGINT.
import { defineCommand } from "citty";
import { commonArgs } from "../modules/module-cli.ts";
import { action, CliError, openCore, type CliRuntime, type CommonArgs, type Outcome } from "./context.ts";

export function gatewayCommand(rt: CliRuntime, outcome: Outcome) {
  return defineCommand({
    meta: { name: "gateway", description: "Run the gateway in the foreground (SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config)" },
    args: {
      ...commonArgs,
      host: { type: "string", description: "listen address (default gateway.host, 127.0.0.1)" },
      port: { type: "string", description: "listen port (default gateway.port, 18789; 0 picks a free port)" },
    },
    run: async ({ args }) => {
      outcome.code = await action(rt, args as CommonArgs, async () => {
        let port: number | undefined;
        if (args.port !== undefined) {
          port = Number(args.port);
          if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be an integer 0-65535 (got ${JSON.stringify(args.port)})`);
        }
        const core = openCore({ ...args, json: false }, rt, { overrides: { host: args.host, port } });
        // Loaded only for this command: the HTTP layer (Elysia, the docs' assets) is no other command's business.
        const { startGateway } = await import("../http/gateway.ts");
        let gateway;
        try {
          gateway = startGateway(core);
        } catch (err) {
          core.close();
          throw err;
        }
        if (args.json) rt.stdout(`${JSON.stringify({ url: gateway.url, port: gateway.port })}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => void gateway.stop().then(resolve);
          if (rt.signal.aborted) stop();
          else rt.signal.addEventListener("abort", stop, { once: true });
        });
        return 0;
      });
    },
  });
}
