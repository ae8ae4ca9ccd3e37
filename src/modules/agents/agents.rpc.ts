// Tenant RPC methods of the agent runtime: agents, sessions and runs. Each acts for the caller's own
// scope only (defineTenantMethod); another tenant's session or run is the same NOT_FOUND as one that
// does not exist. chat.send creates a session when the key is new (audited), and only then is it an
// audited change; sessions.reset and sessions.delete end the session's run first.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import type { RunsService } from "./runs.service.ts";
import type { SessionsService } from "./sessions.service.ts";

const Key = T.String({ pattern: "^[a-z0-9:_-]{1,128}$", description: "the session's key: 1-128 of a-z 0-9 : _ -" });
const AgentId = T.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,63}$" });
const RunId = T.String({ pattern: "^run_[0-9a-f]{32}$" });
const Any = T.Record(T.String(), T.Unknown());
const Cursor = T.Optional(T.String({ maxLength: 200 }));

export function agentsRpc({ runs, sessions }: { runs: RunsService; sessions: SessionsService }) {
  return [
    defineTenantMethod({
      name: "chat.send",
      summary: "Starts a turn of the session's agent with `message`; answers with its run id at once (the run goes on without the caller). A retried send with the same idempotencyKey gets the same run. A session with a run in progress refuses another (CONFLICT).",
      params: { sessionKey: Key, agentId: T.Optional(AgentId), message: T.String({ minLength: 1, maxLength: 262_144 }), idempotencyKey: T.Optional(T.String({ minLength: 1, maxLength: 128 })) },
      result: T.Object({ runId: T.String(), sessionId: T.String(), deduped: T.Boolean() }),
      mutates: true,
      // Only a send that creates its session writes an audit record, so only that one spends one of
      // the tenant's audited changes: a conversation in an existing session is not rate-limited by it.
      audited: (tenant, p) => sessions.find(tenant, p.sessionKey) === null,
      example: { sessionKey: "main", message: "hello" },
      handler: async (tenant, p, ctx) => {
        const { runId, sessionId, deduped, durable } = runs.send(tenant, p, ctx.op);
        await durable; // the session and the run's row are on disk before the run id is told
        return { runId, sessionId, deduped };
      },
    }),
    defineTenantMethod({
      name: "chat.wait",
      summary: "The run (by runId, or the session's latest) once it ends, or as it is after timeoutMs (default 30 s, at most 300 s).",
      params: { runId: T.Optional(RunId), sessionKey: T.Optional(Key), timeoutMs: T.Optional(T.Integer({ minimum: 0, maximum: 300_000 })) },
      result: Any,
      mutates: false,
      example: { sessionKey: "main", timeoutMs: 0 },
      handler: (tenant, p) => runs.wait(tenant, p),
    }),
    defineTenantMethod({
      name: "chat.abort",
      summary: "Aborts the run (by runId, or the session's run in progress): its model call and its tools' sandbox processes end.",
      params: { runId: T.Optional(RunId), sessionKey: T.Optional(Key) },
      result: T.Object({ runId: T.Union([T.String(), T.Null()]), aborted: T.Boolean() }),
      mutates: true,
      example: { sessionKey: "main" },
      handler: (tenant, p) => runs.abort(tenant, p),
    }),
    defineTenantMethod({
      name: "agents.list",
      summary: "The caller's agents (`main` and those its overlay defines under agents.<id>), as in force.",
      params: {},
      result: T.Object({ agents: T.Array(Any) }),
      mutates: false,
      example: {},
      handler: (tenant) => ({ agents: runs.agents(tenant) }),
    }),
    defineTenantMethod({
      name: "agents.get",
      summary: "One agent's effective config: model, prompt source, tools, limits, sandbox mode, context window.",
      params: { agentId: AgentId },
      result: Any,
      mutates: false,
      example: { agentId: "main" },
      handler: (tenant, p) => runs.agentFor(tenant, p.agentId),
    }),
    defineTenantMethod({
      name: "sessions.list",
      summary: "The caller's sessions, by key, paged (nextCursor), optionally of one agent or under a key prefix.",
      params: { limit: T.Optional(T.Integer({ minimum: 1, maximum: 500 })), cursor: Cursor, agentId: T.Optional(AgentId), prefix: T.Optional(T.String({ pattern: "^[a-z0-9:_-]{1,128}$" })) },
      result: T.Object({ sessions: T.Array(Any), nextCursor: T.Union([T.String(), T.Null()]) }),
      mutates: false,
      example: {},
      handler: (tenant, p) => sessions.list(tenant, p),
    }),
    defineTenantMethod({
      name: "sessions.get",
      summary: "One session: its current id, agent, entries, bytes, usage, and its run in progress if any.",
      params: { sessionKey: Key },
      result: Any,
      mutates: false,
      example: { sessionKey: "main" },
      handler: (tenant, p) => ({ ...sessions.get(tenant, p.sessionKey), activeRunId: runs.activeRun(tenant, p.sessionKey) }),
    }),
    defineTenantMethod({
      name: "sessions.history",
      summary: "The session's transcript entries (user, assistant, tool_call, tool_result, error, abort), oldest first, paged.",
      params: { sessionKey: Key, limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })), cursor: Cursor },
      result: T.Object({ sessionId: T.String(), entries: T.Array(Any), nextCursor: T.Union([T.String(), T.Null()]) }),
      mutates: false,
      example: { sessionKey: "main" },
      handler: (tenant, p) => sessions.history(tenant, p.sessionKey, p),
    }),
    defineTenantMethod({
      name: "sessions.usage",
      summary: "Tokens and cost of one session (sessionKey), or of all the caller's sessions.",
      params: { sessionKey: T.Optional(Key) },
      result: Any,
      mutates: false,
      example: {},
      handler: (tenant, p) => sessions.usage(tenant, p.sessionKey),
    }),
    defineTenantMethod({
      name: "sessions.reset",
      summary: "Starts the session afresh under a new session id (its run in progress is aborted; the old transcript is removed).",
      params: { sessionKey: Key },
      result: Any,
      mutates: true,
      audited: true,
      example: { sessionKey: "main" },
      handler: async (tenant, p, ctx) => {
        sessions.get(tenant, p.sessionKey);
        await runs.settleSession(tenant, p.sessionKey);
        return sessions.reset(tenant, p.sessionKey, ctx.op);
      },
    }),
    defineTenantMethod({
      name: "sessions.delete",
      summary: "Deletes the session and its transcript (its run in progress is aborted first).",
      params: { sessionKey: Key },
      result: Any,
      mutates: true,
      audited: true,
      example: { sessionKey: "main" },
      handler: async (tenant, p, ctx) => {
        sessions.get(tenant, p.sessionKey);
        await runs.settleSession(tenant, p.sessionKey);
        return sessions.delete(tenant, p.sessionKey, ctx.op);
      },
    }),
  ];
}
