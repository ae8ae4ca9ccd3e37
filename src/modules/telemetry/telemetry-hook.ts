// What the router (modules/providers/router.ts) and the agent loop tell a tracer (telemetry.ts
// implements it over OpenTelemetry): one span per routed call, one per upstream attempt, one per agent
// turn and tool step. Content (the upstream payload, the completion) is handed
// over lazily and recorded only when the operator opted in (telemetry.otlp.content).

export interface Telemetry {
  /** A routed call begins; `payload` is the request as sent upstream (recorded only with content opted in). */
  route(model: string, stream: boolean, payload: string): RouteSpan | undefined;
  /** Runs an agent turn inside a span: its model calls and tool steps become that span's children. */
  inRun<T extends { status: string }>(run: { agentId: string; runId: string }, fn: () => Promise<T>): Promise<T>;
  /** An agent's tool step; `args` and the result are recorded only with content opted in. */
  toolStep(a: { tool: string; step: number }, args: () => string): ToolSpan | undefined;
}

export interface ToolSpan {
  end(outcome: "ok" | "error", result: () => string): void;
}

export interface RouteSpan {
  attempt(a: { provider: string; deployment: string; key: string; attempt: number }): AttemptSpan;
  served(deployment: string): void;
  /** A non-streaming completion's choices (recorded only with content opted in). */
  completion(text: () => string): void;
  end(outcome: string, error?: string): void;
}

export interface AttemptSpan {
  end(outcome: string, error?: string): void;
}
