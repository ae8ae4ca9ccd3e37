// Tenant sandbox methods: run a command in the caller's own sandbox, and see what it may use.
import { Type as T } from "@sinclair/typebox";
import { AppError } from "../../core/errors.ts";
import { SandboxModes } from "../../config/schema.ts";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import type { SandboxService } from "./sandbox.service.ts";

const Mode = T.Union(SandboxModes.map((m) => T.Literal(m)));
const Encoding = T.Union([T.Literal("utf8"), T.Literal("base64")]);

export const RunResultSchema = T.Object({
  runId: T.String(),
  mode: Mode,
  runtime: T.Union([T.String(), T.Null()]),
  exitCode: T.Union([T.Integer(), T.Null()]),
  signal: T.Union([T.String(), T.Null()], { description: "the signal that ended the command (an exit code above 128 is read as 128 + signal)" }),
  timedOut: T.Boolean(),
  killedReason: T.Union(
    [
      ...(["timeout", "disk-limit", "disk-reserve", "aborted", "tenant-suspended", "tenant-deleted", "tenant-replaced", "token-revoked"] as const).map((r) => T.Literal(r)),
      T.Null(),
    ],
    {
      description:
        "why the gateway killed the run: its timeout, the tenant's disk limit (sandbox.limits.diskMb/inodes), the gateway's disk reserve, the caller leaving, the tenant being suspended, deleted or replaced by a restore, or the token that started it being revoked",
    },
  ),
  stdout: T.String(),
  stderr: T.String(),
  stdoutTruncated: T.Boolean(),
  stderrTruncated: T.Boolean(),
  encoding: Encoding,
  durationMs: T.Integer(),
  resources: T.Object({
    limiter: T.String({ description: "cgroup-v2, cgroup-v1, rlimits or docker" }),
    cpuMs: T.Optional(T.Integer()),
    memoryPeakBytes: T.Optional(T.Integer()),
    oomKilled: T.Optional(T.Boolean()),
  }),
  egress: T.Object({ allowed: T.Integer(), refused: T.Integer() }),
});

export function sandboxRpc({ sandbox, disk }: { sandbox: SandboxService; disk: DiskGuard }) {
  return [
    defineTenantMethod({
      name: "sandbox.exec",
      summary:
        "Runs a command in the calling tenant's sandbox with its workspace at /work. No network unless `tool` names a tool whose egress the tenant opted into within the gateway's ceiling.",
      params: {
        command: T.String({ minLength: 1, maxLength: 4096, description: "program to run (a path, or a name looked up on PATH)" }),
        args: T.Optional(T.Array(T.String({ maxLength: 65_536 }), { maxItems: 4096 })),
        stdin: T.Optional(T.String({ description: "bytes for the command's standard input" })),
        stdinEncoding: T.Optional(Encoding),
        env: T.Optional(T.Record(T.String(), T.String(), { description: "extra environment (names: letters, digits, _; PATH, HOME, proxies are the gateway's)" })),
        timeoutSeconds: T.Optional(T.Integer({ minimum: 1, description: "at most the tenant's limit" })),
        mode: T.Optional(Mode),
        tool: T.Optional(T.String({ pattern: "^[a-z0-9_.-]{1,64}$" })),
        encoding: T.Optional(Encoding),
      },
      result: RunResultSchema,
      mutates: true,
      example: { command: "echo", args: ["hello"] },
      handler: async (tenant, p) => {
        let stdin: Uint8Array | null = null;
        if (p.stdin !== undefined) {
          if (p.stdinEncoding === "base64" && !/^[A-Za-z0-9+/]*={0,2}$/.test(p.stdin)) throw new AppError("INVALID_PARAMS", "stdin is not valid base64");
          stdin = Buffer.from(p.stdin, p.stdinEncoding === "base64" ? "base64" : "utf8");
        }
        return sandbox.run({
          tenant,
          command: [p.command, ...(p.args ?? [])],
          stdin,
          env: p.env,
          timeoutSeconds: p.timeoutSeconds,
          mode: p.mode,
          tool: p.tool,
          encoding: p.encoding,
          origin: "rpc",
          // The run lives no longer than the token that started it (see tenants/tenant-lifecycle.ts).
          token: tenant.actor.id,
        });
      },
    }),
    defineTenantMethod({
      name: "sandbox.info",
      summary: "The calling tenant's sandbox: mode, allowed modes, effective limits, tools with egress, sandbox seconds used today, and its directory's disk usage against its limits.",
      params: {},
      result: T.Record(T.String(), T.Unknown()),
      mutates: false,
      example: {},
      handler: async (tenant) => ({ ...sandbox.info(tenant), disk: await disk.view(tenant) }),
    }),
  ];
}
