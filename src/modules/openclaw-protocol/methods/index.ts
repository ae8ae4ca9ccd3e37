// The method families the protocol serves, in one explicit list (no dynamic loading: `bun build
// --compile` follows these imports). A family is a file of methods/ exporting a function from the
// module's services to its V4Method[]; hello-ok's features.methods is built from exactly this list.
// To add a family: import it here and add it to METHOD_FAMILIES (and, if it streams events to a
// connection from the start, a hook to CONNECTION_HOOKS).
import type { V4Context, V4Method } from "../methods.ts";
import type { V4Services } from "../needs.ts";
import { attachEvents } from "../events.ts";
import { agentMethods } from "./agent.ts";
import { basicMethods } from "./basic.ts";
import { chatMethods } from "./chat.ts";
import { attachCronEvents, cronMethods } from "./cron.ts";
import { sessionsMethods } from "./sessions.ts";

export type MethodFamily = (svc: V4Services) => V4Method[];

/**
 * Runs once a connection is authenticated, after hello-ok is sent: e.g. to subscribe the connection to
 * its tenant's events bus (ctx.emit) until ctx.signal aborts. Never throws (a throw closes the connection).
 */
export type ConnectionHook = (svc: V4Services, ctx: V4Context) => void;

export const METHOD_FAMILIES: readonly MethodFamily[] = [basicMethods, agentMethods, chatMethods, sessionsMethods, cronMethods];

/** The runtime's events (chat, agent, sessions.changed, session.message) and cron's reach a connection from its start. */
export const CONNECTION_HOOKS: readonly ConnectionHook[] = [(svc, ctx) => void attachEvents(svc, ctx), (svc, ctx) => attachCronEvents(svc, ctx)];
