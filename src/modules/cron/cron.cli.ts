// `openclaw cron list | add | remove | run | runs --tenant <id>`: the operator's view of a tenant's
// scheduled jobs. Each command names its tenant through the operator's context (an unknown tenant is
// said so) and calls the cron service, which audits changes under the OS user.
import { parseDuration } from "../../lib/duration.ts";
import { CliError, commandsFor, commonArgs, type CliIo, type CliTree } from "../module-cli.ts";
import { describeSchedule, MAX_PAGE, RunStatuses } from "./cron.model.ts";
import type { CronApi, CronJob, CronJobInput, CronRun, CronRunStatus, CronSchedule } from "./cron.types.ts";

type Services = { cron: CronApi };
const command = commandsFor<Services>();
const tenant = { type: "string", required: true, description: "tenant id" } as const;
const jobId = { type: "positional", required: true, description: "job id (from openclaw cron list)" } as const;

/** `--every`: a bare number is milliseconds (as upstream's everyMs), else a duration such as 30s, 5m, 1h30m. */
export function parseEvery(v: string): number {
  const ms = /^\d+$/.test(v.trim()) ? Number(v.trim()) : parseDuration(v);
  if (ms === null || !Number.isSafeInteger(ms) || ms <= 0) throw new CliError(`--every must be milliseconds or a duration such as 30s, 5m or 1h (got ${JSON.stringify(v)})`);
  return ms;
}

function intArg(v: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${flag} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""} (got ${JSON.stringify(v)})`);
  return n;
}

/** The job `openclaw cron add` describes: exactly one schedule flag and one payload flag. */
export function jobFromArgs(args: Record<string, unknown>, io: Pick<CliIo, "repeated">): CronJobInput {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : undefined);
  const schedules = (["cron", "every", "at"] as const).filter((k) => str(k) !== undefined);
  if (schedules.length !== 1) throw new CliError(`give exactly one of --cron "<expr>", --every <interval> or --at <iso time>${schedules.length ? ` (got ${schedules.map((s) => `--${s}`).join(" and ")})` : ""}`);
  if (str("tz") !== undefined && schedules[0] !== "cron") throw new CliError("--tz goes with --cron (an interval or a time with an offset has no time zone)");
  const schedule: CronSchedule =
    schedules[0] === "cron" ? { kind: "cron", expr: str("cron")!, ...(str("tz") ? { tz: str("tz")! } : {}) } : schedules[0] === "every" ? { kind: "every", everyMs: parseEvery(str("every")!) } : { kind: "at", at: str("at")! };
  const message = str("message");
  const exec = str("exec");
  if ((message === undefined) === (exec === undefined)) throw new CliError('give exactly one of --message "<text>" (an agent turn) or --exec <command> (a sandbox command)');
  const agentFlags = ["agent", "session", "isolated"].filter((k) => args[k] !== undefined && args[k] !== false);
  const execFlags = ["arg", "timeout"].filter((k) => (k === "arg" ? io.repeated("arg").length > 0 : args[k] !== undefined));
  if (exec !== undefined && agentFlags.length) throw new CliError(`--${agentFlags[0]} goes with --message, not --exec`);
  if (message !== undefined && execFlags.length) throw new CliError(`--${execFlags[0]} goes with --exec, not --message`);
  const payload: CronJobInput["payload"] =
    message !== undefined
      ? { kind: "agentTurn", message, ...(str("agent") ? { agentId: str("agent")! } : {}), ...(str("session") ? { sessionKey: str("session")! } : {}), ...(args.isolated ? { isolated: true } : {}) }
      : { kind: "exec", command: exec!, args: io.repeated("arg"), ...(str("timeout") ? { timeoutSeconds: intArg(str("timeout"), "timeout", 1)! } : {}) };
  const catchUp = str("catch-up");
  if (catchUp !== undefined && catchUp !== "once" && catchUp !== "skip") throw new CliError(`--catch-up must be once or skip (got ${JSON.stringify(catchUp)})`);
  const deliveries = (["webhook", "deliver-session"] as const).filter((k) => str(k) !== undefined);
  if (deliveries.length > 1) throw new CliError("give at most one of --webhook and --deliver-session");
  const name = str("name") ?? (message !== undefined ? message.slice(0, 60) : [exec!, ...io.repeated("arg")].join(" ").slice(0, 60));
  return {
    name,
    ...(str("description") ? { description: str("description")! } : {}),
    schedule,
    payload,
    ...(args.disabled ? { enabled: false } : {}),
    ...(args["delete-after-run"] ? { deleteAfterRun: true } : {}),
    ...(catchUp ? { catchUp } : {}),
    ...(str("webhook") ? { delivery: { mode: "webhook", url: str("webhook")! } } : str("deliver-session") ? { delivery: { mode: "session", sessionKey: str("deliver-session")! } } : {}),
  };
}

const when = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());
const usd = (micro: number) => `$${(micro / 1_000_000).toFixed(6)}`;

function jobLine(j: CronJob): string {
  const state = j.enabled ? `next ${when(j.state.nextRunAtMs)}` : `disabled${j.state.disabledReason ? ` (${j.state.disabledReason})` : ""}`;
  const last = j.state.lastRunStatus ? `  last ${j.state.lastRunStatus} ${when(j.state.lastRunAtMs)}` : "";
  return `${j.id}  ${JSON.stringify(j.name)}  ${describeSchedule(j.schedule)}  ${j.payload.kind}  ${state}${last}`;
}

function runLine(r: CronRun): string {
  const took = r.durationMs === null ? "" : ` ${r.durationMs} ms`;
  const cost = r.usage.inputTokens || r.usage.outputTokens || r.usage.costMicroUsd ? `  ${r.usage.inputTokens}+${r.usage.outputTokens} tokens ${usd(r.usage.costMicroUsd)}` : "";
  return `${r.id}  ${r.jobId}  ${r.trigger}  ${r.status}${took}  at ${when(r.startedAtMs)}${cost}${r.error ? `  error: ${r.error}` : ""}`;
}

const list = command({
  description: "List a tenant's cron jobs (disabled ones too)",
  args: { ...commonArgs, tenant, limit: { type: "string", description: `at most this many (1-${MAX_PAGE}, default 50)` }, offset: { type: "string", description: "skip this many" }, query: { type: "string", description: "a part of the id, name or description" } },
  run({ cron }, args, io) {
    const page = cron.list(io.operator.tenant(args.tenant), { includeDisabled: true, limit: intArg(args.limit, "limit", 1, MAX_PAGE) ?? 50, offset: intArg(args.offset, "offset", 0), query: args.query });
    io.emit(page, () => {
      if (page.total === 0) return io.line(`No cron jobs for ${args.tenant}. Add one with: openclaw cron add --tenant ${args.tenant} --every 1h --message "…"`);
      for (const j of page.items) io.line(jobLine(j));
      if (page.offset + page.items.length < page.total) io.line(`(${page.items.length} of ${page.total}; --offset ${page.offset + page.items.length} for more)`);
    });
  },
});

const add = command({
  description: "Add a cron job for a tenant: --cron, --every or --at; --message (an agent turn) or --exec (a sandbox command)",
  args: {
    ...commonArgs,
    tenant,
    name: { type: "string", description: "the job's name (default: the start of the message or command)" },
    description: { type: "string", description: "what the job is for" },
    cron: { type: "string", description: 'a cron expression, five or six fields, e.g. "0 9 * * 1-5"' },
    tz: { type: "string", description: 'the time zone of --cron, e.g. Europe/Berlin (default "UTC")' },
    every: { type: "string", description: "an interval: milliseconds, or 30s, 5m, 1h" },
    at: { type: "string", description: "once, at an ISO time with an offset (in the future)" },
    message: { type: "string", description: "an agent turn: what the agent is told" },
    agent: { type: "string", description: 'with --message: the agent (default "main")' },
    session: { type: "string", description: 'with --message: the session key (default "cron:<jobId>")' },
    isolated: { type: "boolean", description: "with --message: each run in a fresh session" },
    exec: { type: "string", description: "a command in the tenant's sandbox (its arguments with --arg, repeatable)" },
    arg: { type: "string", description: "with --exec: an argument (repeatable, in order)" },
    timeout: { type: "string", description: "with --exec: seconds, at most the tenant's limit" },
    webhook: { type: "string", description: "POST each run's record to this URL, signed (the secret is printed once)" },
    "deliver-session": { type: "string", description: "append each run's result to this session" },
    "catch-up": { type: "string", description: "a run missed while the gateway was down: once (default) or skip" },
    "delete-after-run": { type: "boolean", description: "remove the job after its first run" },
    disabled: { type: "boolean", description: "add it disabled" },
  },
  run({ cron }, args, io) {
    const job = cron.add(io.operator.tenant(args.tenant), jobFromArgs(args, io), io.operator) as CronJob & { delivery: { secret?: string } };
    io.emit(job, () => {
      io.line(`✓ cron job added · ${jobLine(job)}`);
      if (job.delivery.secret) {
        io.line("✓ webhook signing secret (copy now — shown once):");
        io.line(job.delivery.secret);
      }
    });
  },
});

const remove = command({
  description: "Remove a tenant's cron job",
  args: { ...commonArgs, tenant, jobId },
  run({ cron }, args, io) {
    const r = cron.remove(io.operator.tenant(args.tenant), args.jobId, io.operator);
    io.emit(r, () => io.line(`✓ cron job ${r.id} removed`));
  },
});

const run = command({
  description: "Run a tenant's cron job now and wait for it to end (exit code 1 when the run fails)",
  args: { ...commonArgs, tenant, jobId, detach: { type: "boolean", description: "return once the run has started" } },
  async run({ cron }, args, io) {
    const scope = io.operator.tenant(args.tenant);
    let r = await cron.runNow(scope, args.jobId, io.operator);
    // The run goes on in this process: leaving before it ends would cut it off.
    while (!args.detach && r.status === "running" && !io.signal.aborted) {
      await Bun.sleep(100);
      r = cron.runs(scope, { id: args.jobId, limit: MAX_PAGE }).items.find((x) => x.id === r.id) ?? r;
    }
    io.emit(r, () => {
      io.line(`${r.status === "error" ? "✗" : "✓"} ${runLine(r)}`);
      if (r.output) io.line(r.output);
    });
    if (r.status === "error") io.exitCode(1);
  },
});

const runs = command({
  description: "A tenant's cron runs, newest first (of one job, or all): outcome, error, usage and cost",
  args: {
    ...commonArgs,
    tenant,
    jobId: { type: "positional", required: false, description: "one job's runs (default: every job's)" },
    limit: { type: "string", description: `at most this many (1-${MAX_PAGE}, default 20)` },
    offset: { type: "string", description: "skip this many" },
    status: { type: "string", description: `only these, comma-separated: ${RunStatuses.join(", ")}` },
  },
  run({ cron }, args, io) {
    const statuses = args.status?.split(",").map((s) => s.trim());
    for (const s of statuses ?? []) if (!(RunStatuses as readonly string[]).includes(s)) throw new CliError(`--status takes ${RunStatuses.join(", ")} (got ${JSON.stringify(s)})`);
    const page = cron.runs(io.operator.tenant(args.tenant), {
      ...(args.jobId ? { id: args.jobId } : {}),
      limit: intArg(args.limit, "limit", 1, MAX_PAGE) ?? 20,
      offset: intArg(args.offset, "offset", 0),
      ...(statuses ? { statuses: statuses as CronRunStatus[] } : {}),
    });
    io.emit(page, () => {
      if (page.total === 0) return io.line("No runs.");
      for (const r of page.items) io.line(runLine(r));
      if (page.offset + page.items.length < page.total) io.line(`(${page.items.length} of ${page.total}; --offset ${page.offset + page.items.length} for more)`);
    });
  },
});

export const cronCli: CliTree<Services> = {
  cron: { description: "Tenants' scheduled jobs", commands: { list, add, remove, run, runs } },
};
