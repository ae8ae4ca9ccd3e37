// Operator metrics in the Prometheus text format (GET /metrics, admin key required). Counters and
// histograms live in memory, per gateway process. Label values are bounded: routes are route
// templates (never raw paths), and at most MAX_TENANTS tenants get their own series — the rest share
// tenant="_other" — so a tenant-spraying client cannot grow the output without bound.

const MAX_TENANTS = 200;
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

/** Rendered label sets by a caller's own cache key: the request path renders its labels once, not per request. */
class KeyCache {
  private readonly keys = new Map<string, string>();
  get(cacheKey: string, labels: () => Labels): string {
    let k = this.keys.get(cacheKey);
    if (k === undefined) {
      if (this.keys.size >= 10_000) this.keys.clear(); // odd methods or routes cannot grow it without bound
      this.keys.set(cacheKey, (k = key(labels())));
    }
    return k;
  }
}

class Counter {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    this.incKey(key(labels), by);
  }
  incKey(k: string, by = 1): void {
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  observe(labels: Labels, value: number): void {
    this.observeKey(key(labels), value);
  }
  observeKey(k: string, value: number): void {
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (value <= BUCKETS[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      BUCKETS.forEach((b, i) => lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines.join("\n");
  }
}

export function createMetrics() {
  const tenants = new Set<string>();
  const tenantLabel = (id: string): string => {
    if (tenants.has(id)) return id;
    if (tenants.size < MAX_TENANTS) {
      tenants.add(id);
      return id;
    }
    return "_other";
  };
  const requests = new Counter("openclaw_http_requests_total", "HTTP requests by route template, method and status.");
  const latency = new Histogram("openclaw_http_request_duration_seconds", "Time to the response (headers, for streams) by route template and method.");
  const quota = new Counter("openclaw_quota_refusals_total", "Requests refused at admission, by the limit that refused them.");
  const tenantRequests = new Counter("openclaw_tenant_requests_total", `Authenticated requests per tenant (at most ${MAX_TENANTS} tenants labelled; the rest are tenant="_other").`);
  const tenantTokens = new Counter("openclaw_tenant_llm_tokens_total", "LLM tokens metered per tenant.");
  const sandboxRuns = new Counter("openclaw_sandbox_runs_total", "Sandbox runs by mode and how they ended.");
  const sandboxSeconds = new Counter("openclaw_sandbox_seconds_total", "Wall-clock seconds of sandbox runs by mode.");
  const egress = new Counter("openclaw_sandbox_egress_connections_total", "Egress proxy connections by outcome.");
  const audit = new Counter("openclaw_audit_records_total", "Audit records written (committed with fsync).");
  const backups = new Counter("openclaw_backups_total", "Backups and restores by operation and outcome.");
  // Reliable routing: labels are operator-configured names (providers, models, deployments, key names), so bounded.
  const upstreamAttempts = new Counter("openclaw_upstream_attempts_total", "Provider attempts by provider, model, deployment, key name and outcome (ok, error, timeout, rate_limited, unavailable, refused, invalid, client_closed, midstream_error, circuit_open).");
  const upstreamFallbacks = new Counter("openclaw_upstream_fallbacks_total", "Calls that moved on to a model's next deployment.");
  const breakerOpened = new Counter("openclaw_upstream_circuit_opened_total", "Times a deployment's circuit breaker opened.");
  const startedAt = Date.now();
  const keys = new KeyCache();

  return {
    request(route: string, method: string, status: number, seconds: number, tenantId?: string): void {
      requests.incKey(keys.get(`${route}\0${method}\0${status}`, () => ({ route, method, status: String(status) })));
      latency.observeKey(keys.get(`${route}\0${method}`, () => ({ route, method })), seconds);
      if (tenantId) tenantRequests.incKey(keys.get(`\0tenant\0${tenantId}`, () => ({ tenant: tenantLabel(tenantId) })));
    },
    quotaRefusal(limit: string): void {
      quota.inc({ limit });
    },
    llmTokens(tenantId: string, tokens: number): void {
      if (tokens > 0) tenantTokens.inc({ tenant: tenantLabel(tenantId) }, tokens);
    },
    sandboxRun(mode: string, outcome: "ok" | "failed" | "timeout" | "disk" | "error", seconds: number): void {
      sandboxRuns.inc({ mode, outcome });
      sandboxSeconds.inc({ mode }, seconds);
    },
    egress(outcome: string): void {
      egress.inc({ outcome });
    },
    auditRecord(): void {
      audit.inc();
    },
    backup(operation: "backup" | "restore" | "delete", outcome: "ok" | "refused" | "error"): void {
      backups.inc({ operation, outcome });
    },
    upstreamAttempt(l: { provider: string; model: string; deployment: string; key: string; outcome: string }): void {
      upstreamAttempts.incKey(keys.get(`\0attempt\0${l.provider}\0${l.model}\0${l.deployment}\0${l.key}\0${l.outcome}`, () => ({ ...l })));
    },
    upstreamFallback(model: string): void {
      upstreamFallbacks.inc({ model });
    },
    upstreamBreakerOpened(model: string, deployment: string): void {
      breakerOpened.inc({ model, deployment });
    },
    render(extra: { version: string; tenants: number }): string {
      const parts = [
        `# HELP openclaw_build_info The gateway's version.\n# TYPE openclaw_build_info gauge\nopenclaw_build_info{version="${extra.version}"} 1`,
        `# HELP openclaw_uptime_seconds Seconds since the gateway started.\n# TYPE openclaw_uptime_seconds gauge\nopenclaw_uptime_seconds ${((Date.now() - startedAt) / 1000).toFixed(3)}`,
        `# HELP openclaw_tenants Tenants in state.db.\n# TYPE openclaw_tenants gauge\nopenclaw_tenants ${extra.tenants}`,
        requests.render(),
        latency.render(),
        quota.render(),
        tenantRequests.render(),
        tenantTokens.render(),
        sandboxRuns.render(),
        sandboxSeconds.render(),
        egress.render(),
        audit.render(),
        backups.render(),
        upstreamAttempts.render(),
        upstreamFallbacks.render(),
        breakerOpened.render(),
      ];
      return `${parts.join("\n")}\n`;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
