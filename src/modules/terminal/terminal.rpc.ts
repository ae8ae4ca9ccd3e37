// terminal.*: the web terminal over the tenant WebSocket (GET /rpc). Output and exit are told only to
// the connection attached to the terminal, so every method but terminal.list needs one: over POST
// /rpc they answer BAD_REQUEST "needs a WebSocket connection". terminal.input may come as a
// notification (no id). open and close write audit records: they count as the tenant's changes.
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { defineTenantMethod, type RpcConnection, type RpcContext } from "../../edge/rpc.ts";
import type { TerminalService } from "./terminal.service.ts";

/** Characters of one terminal.input (a paste larger than this is sent in parts). */
export const MAX_INPUT_CHARS = 64 * 1024;

const TerminalId = T.String({ minLength: 1, maxLength: 64, description: "a terminal of the calling tenant (terminal.open)" });
const Cols = T.Integer({ minimum: 1, maximum: 1000, description: "columns" });
const Rows = T.Integer({ minimum: 1, maximum: 500, description: "rows" });
const Empty = T.Object({});

function connectionOf(ctx: RpcContext, method: string): RpcConnection {
  if (!ctx.connection) throw new AppError("BAD_REQUEST", `${method} needs a WebSocket connection (GET /rpc): a terminal's output is sent to the connection attached to it, and a POST /rpc request has none`);
  return ctx.connection;
}

export function terminalRpc({ terminal }: { terminal: TerminalService }) {
  return [
    defineTenantMethod({
      name: "terminal.open",
      summary:
        "WebSocket only: opens a terminal — /bin/sh -i in the calling tenant's sandbox (the mode, limits, egress and identity of sandbox.exec; its workspace at /work) on a PTY — attached to this connection, which is then told terminal.output and terminal.exit.",
      params: { cols: Cols, rows: Rows },
      result: T.Object({ terminalId: T.String(), mode: T.String() }),
      mutates: true,
      audited: true,
      example: { cols: 80, rows: 24 },
      handler: (tenant, p, ctx) => terminal.open(tenant, { cols: p.cols, rows: p.rows }, connectionOf(ctx, "terminal.open"), ctx.op),
    }),
    defineTenantMethod({
      name: "terminal.attach",
      summary:
        "WebSocket only: attaches one of the tenant's open terminals to this connection (a reconnect; any other connection stops hearing it) and returns its last output (at most 64 KiB) to replay.",
      params: { terminalId: TerminalId },
      result: T.Object({ terminalId: T.String(), replay: T.String() }),
      mutates: true,
      example: { terminalId: "term_abc" },
      handler: (tenant, p, ctx) => terminal.attach(tenant, p.terminalId, connectionOf(ctx, "terminal.attach")),
    }),
    defineTenantMethod({
      name: "terminal.input",
      summary: "WebSocket only: types into the terminal (keystrokes, a paste). May be sent as a notification (no id).",
      params: { terminalId: TerminalId, data: T.String({ maxLength: MAX_INPUT_CHARS }) },
      result: Empty,
      mutates: true,
      example: { terminalId: "term_abc", data: "echo hi\r" },
      handler: (tenant, p, ctx) => {
        connectionOf(ctx, "terminal.input");
        terminal.input(tenant, p.terminalId, p.data);
        return {};
      },
    }),
    defineTenantMethod({
      name: "terminal.resize",
      summary: "WebSocket only: sets the terminal's size (the shell sees SIGWINCH).",
      params: { terminalId: TerminalId, cols: Cols, rows: Rows },
      result: Empty,
      mutates: true,
      example: { terminalId: "term_abc", cols: 120, rows: 40 },
      handler: (tenant, p, ctx) => {
        connectionOf(ctx, "terminal.resize");
        terminal.resize(tenant, p.terminalId, { cols: p.cols, rows: p.rows });
        return {};
      },
    }),
    defineTenantMethod({
      name: "terminal.close",
      summary: "WebSocket only: closes the terminal (its sandbox is killed); answers once it has ended. The attached connection is told terminal.exit.",
      params: { terminalId: TerminalId },
      result: Empty,
      mutates: true,
      audited: true,
      example: { terminalId: "term_abc" },
      handler: async (tenant, p, ctx) => {
        connectionOf(ctx, "terminal.close");
        await terminal.close(tenant, p.terminalId, ctx.op);
        return {};
      },
    }),
    defineTenantMethod({
      name: "terminal.list",
      summary: "The tenant's open terminals, whether a connection is attached to each (attachedHere: this one), and their size. Also over POST /rpc (attachedHere is then false).",
      params: {},
      result: T.Object({
        terminals: T.Array(T.Object({ terminalId: T.String(), createdAt: T.String(), attached: T.Boolean(), attachedHere: T.Boolean(), cols: T.Integer(), rows: T.Integer() })),
      }),
      mutates: false,
      example: {},
      handler: (tenant, _p, ctx) => ({ terminals: terminal.list(tenant, ctx.connection) }),
    }),
  ];
}
