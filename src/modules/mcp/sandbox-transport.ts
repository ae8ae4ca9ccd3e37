// An MCP stdio transport whose server runs in the tenant's sandbox: the command is a `sandbox.run`
// (the tenant's mode, limits, seccomp filter, mounts — a plugin's server also its plugin folder,
// read-only at /mnt/plugin; no network) fed by a stream on its stdin and
// read line by line on its stdout — newline-delimited JSON-RPC, as MCP's stdio transport speaks.
// The process lives at most the tenant's sandbox `timeoutSeconds` (it is started again on next use)
// and holds one of the tenant's sandbox slots while it lives. A line longer than the cap, or output
// that is not JSON-RPC, ends it: the gateway never buffers without bound for a tenant's process.
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { SandboxService } from "../sandbox/sandbox.service.ts";

export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export class SandboxStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private input: ReadableStreamDefaultController<Uint8Array> | null = null;
  private readonly abort = new AbortController();
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();
  private buffer = "";
  private running: Promise<void> | null = null;
  private ended = false;
  /** Why the process ended, when it did by itself (its exit, a kill, a refusal). */
  exitReason: string | null = null;

  constructor(private readonly opts: { sandbox: SandboxService; tenant: TenantScope; command: string[]; env?: Record<string, string>; mounts?: readonly { source: string; target: string; readOnly: true }[] }) {}

  async start(): Promise<void> {
    const stdinStream = new ReadableStream<Uint8Array>({ start: (c) => void (this.input = c) });
    const info = this.opts.sandbox.info(this.opts.tenant);
    this.running = this.opts.sandbox
      .run({ tenant: this.opts.tenant, command: this.opts.command, env: this.opts.env, mounts: this.opts.mounts, stdinStream, timeoutSeconds: info.limits.timeoutSeconds, origin: "rpc", signal: this.abort.signal, onStdout: (c) => this.data(c) })
      .then(
        (r) => {
          const stderr = r.stderr.trim().slice(-300);
          this.exitReason ??= r.killedReason ? `the server was stopped (${r.killedReason})` : `the server exited (code ${r.exitCode ?? "none"}${r.signal ? `, ${r.signal}` : ""})${stderr ? `: ${stderr}` : ""}`;
        },
        (err: unknown) => {
          this.exitReason ??= `the server could not start: ${err instanceof Error ? err.message : String(err)}`;
          this.onerror?.(err instanceof Error ? err : new Error(String(err)));
        },
      )
      .finally(() => this.end());
  }

  private data(chunk: Uint8Array): void {
    if (this.ended) return;
    this.buffer += this.decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() === "") continue;
      let message: JSONRPCMessage;
      try {
        message = JSONRPCMessageSchema.parse(JSON.parse(line));
      } catch {
        return this.fail("the server wrote a line that is not a JSON-RPC message");
      }
      this.onmessage?.(message);
    }
    if (this.buffer.length > MAX_LINE_BYTES) this.fail(`the server wrote a line longer than ${MAX_LINE_BYTES} bytes`);
  }

  private fail(reason: string): void {
    this.exitReason = reason;
    this.onerror?.(new Error(reason));
    void this.close();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.ended || !this.input) throw new Error(this.exitReason ?? "the server is not running");
    this.input.enqueue(this.encoder.encode(`${JSON.stringify(message)}\n`));
  }

  async close(): Promise<void> {
    this.exitReason ??= "closed by the gateway";
    try {
      this.input?.close();
    } catch {
      // already closed
    }
    this.abort.abort();
    await this.running;
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer = "";
    this.onclose?.();
  }
}
