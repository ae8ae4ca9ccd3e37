// What the router (modules/providers/router.ts) tells a tracer (telemetry.ts implements it over OpenTelemetry): one span per
// routed call and one per upstream attempt. Content (the upstream payload, the completion) is handed
// over lazily and recorded only when the operator opted in (telemetry.otlp.content).

export interface Telemetry {
  /** A routed call begins; `payload` is the request as sent upstream (recorded only with content opted in). */
  route(model: string, stream: boolean, payload: string): RouteSpan | undefined;
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
