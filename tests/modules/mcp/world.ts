// An MCP world: a gateway listening for real (routing to the fake provider), two tenants, and the
// SDK's own MCP client against /mcp for either.
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { chatWorld, type ChatWorld } from "../../helpers/chat.ts";
import { createTenant, scope } from "../../helpers/core.ts";

export interface McpWorld extends ChatWorld {
  tokens: Record<"alpha" | "beta", string>;
  /** An SDK client connected to /mcp with `token` (closed by close()). */
  connect(token: string, headers?: Record<string, string>): Promise<Client>;
  write(tenant: string, path: string, text: string): void;
}

export async function mcpWorld(opts: { config?: Record<string, any> } = {}): Promise<McpWorld> {
  const w = await chatWorld({ tenant: "alpha", config: opts.config });
  const beta = createTenant(w.core, "beta");
  const clients: Client[] = [];
  return {
    ...w,
    tokens: { alpha: w.token, beta },
    async connect(token, headers = {}) {
      const client = new Client({ name: "test", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${w.gw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } } }));
      clients.push(client);
      return client;
    },
    write(tenant, path, text) {
      w.core.files.write(scope(tenant), path, new TextEncoder().encode(text), { mkdirs: true });
    },
    async close() {
      for (const c of clients) await c.close().catch(() => {});
      await w.close();
    },
  };
}

/** The text of a tools/call result. */
export function textOf(r: any): string {
  return (r.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("\n");
}

/** The SDK-built stdio MCP server of fixtures/stdio-server.ts, bundled into one file a sandbox runs. */
export async function bundleStdioServer(): Promise<string> {
  const r = await Bun.build({ entrypoints: [path.join(import.meta.dir, "fixtures/stdio-server.ts")], target: "node", format: "esm" });
  if (!r.success) throw new Error(`could not bundle the stdio server: ${r.logs.join("\n")}`);
  return r.outputs[0]!.text();
}
