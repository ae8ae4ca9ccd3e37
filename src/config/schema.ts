// Gateway config schema (<home>/openclaw.json), admin-only. Keys are fixed by the product contract;
// every section is strict so a typo is an error instead of a silently ignored setting.
import { Type as T, type Static } from "@sinclair/typebox";
import { AgentsSection } from "./agents-schema.ts";

const strict = { additionalProperties: false } as const;
const PositiveInt = (def: number, extra: object = {}) => T.Integer({ minimum: 1, default: def, ...extra });

export const EgressEntry = T.String({ minLength: 3, maxLength: 300, description: "host:port, *.suffix:port or [ipv6]:port; port may be *" });

const ChannelKindConfig = (apiBase: string) =>
  T.Object(
    {
      enabled: T.Boolean({ default: true }),
      apiBase: T.String({ default: apiBase, pattern: "^https?://[^\\s]+$", maxLength: 500, description: "the platform's API base: the only host replies go to" }),
    },
    { ...strict, default: {} },
  );

const GatewaySection = T.Object(
  {
    host: T.String({ default: "127.0.0.1", minLength: 1 }),
    port: T.Integer({ minimum: 0, maximum: 65535, default: 18789 }),
    accessLog: T.Boolean({ default: true, description: "one JSON log line per request (request id, route, status, time, tenant)" }),
    trustedProxies: T.Array(T.String({ minLength: 1 }), {
      default: [],
      description: "IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed",
    }),
    diskReserveMb: T.Integer({
      minimum: 0,
      default: 1024,
      description: "MiB kept free on the tenants' filesystem for the gateway's own state: below it, tenant writes are refused and sandbox runs killed",
    }),
    diskReserveInodes: T.Integer({ minimum: 0, default: 10_000, description: "free inodes kept for the gateway's own state, like diskReserveMb" }),
    limits: T.Object(
      {
        adminBodyBytes: PositiveInt(65_536, { maximum: 16 * 1024 * 1024 }),
        rpcBodyBytes: PositiveInt(1_048_576, { maximum: 64 * 1024 * 1024 }),
        chatBodyBytes: PositiveInt(8_388_608, { maximum: 64 * 1024 * 1024 }),
        otherBodyBytes: PositiveInt(16_384, { maximum: 1024 * 1024 }),
        maxHeaderBytes: PositiveInt(16_384, { maximum: 16_384 }),
        maxHeaderCount: PositiveInt(100, { maximum: 500 }),
        idleTimeoutSeconds: PositiveInt(10, { maximum: 255 }),
        shutdownGraceSeconds: PositiveInt(30, { maximum: 600 }),
        streamKeepAliveSeconds: PositiveInt(15, { maximum: 300 }),
        jsonMaxDepth: PositiveInt(64, { minimum: 8, maximum: 512, description: "levels of objects and arrays a JSON body may nest (RPC, control plane, OpenAI routes); deeper is refused before parsing" }),
        rpcResponseBytes: PositiveInt(32 * 1024 * 1024, { minimum: 65_536, maximum: 1024 * 1024 * 1024, description: "bytes of results one RPC request (a batch counted together) may return; past it, items get PAYLOAD_TOO_LARGE" }),
        rpcConcurrentPerTenant: PositiveInt(4, { maximum: 1000, description: "RPC requests one tenant may have in progress at once; more get RATE_LIMITED" }),
        tenantChangesPerMinute: PositiveInt(60, { maximum: 100_000, description: "audited changes a tenant may make over RPC per minute (config.set, config.patch, tenants.rotate, tenants.backup) and console sign-ins by its token, refilled evenly" }),
        tenantChangesBurst: PositiveInt(30, { maximum: 100_000, description: "audited changes a tenant may make at once before tenantChangesPerMinute applies" }),
      },
      { ...strict, default: {} },
    ),
    websocket: T.Object(
      {
        maxConnections: PositiveInt(4096, { maximum: 1_000_000, description: "tenant WebSocket connections (GET /rpc) open at once, all tenants; more are refused with 503" }),
        maxConnectionsPerTenant: PositiveInt(16, { maximum: 100_000, description: "WebSocket connections one tenant may have open at once; more are refused with 429" }),
        maxMessageBytes: PositiveInt(1_048_576, { minimum: 1024, maximum: 64 * 1024 * 1024, description: "bytes of one frame a client may send; a larger one closes the connection (1009)" }),
        maxBufferedBytes: PositiveInt(1_048_576, { minimum: 16_384, maximum: 256 * 1024 * 1024, description: "bytes the gateway may hold unsent for one connection; a client that reads slower is closed (4008). Also the response budget of one frame" }),
        messagesPerSecond: PositiveInt(50, { maximum: 100_000, description: "frames a connection may send per second (refilled evenly); more are answered RATE_LIMITED, not run, and a connection that keeps sending after another burst of refusals is closed (1008)" }),
        messagesBurst: PositiveInt(100, { maximum: 100_000, description: "frames a connection may send at once before messagesPerSecond applies" }),
        tenantMessagesPerSecond: PositiveInt(100, { maximum: 1_000_000, description: "frames one tenant's WebSocket connections together (GET /rpc and GET /, all of them) may send per second (refilled evenly); more are refused (RATE_LIMITED on /rpc, UNAVAILABLE retryable on /), not run" }),
        tenantMessagesBurst: PositiveInt(300, { maximum: 1_000_000, description: "frames one tenant's WebSocket connections together may send at once before tenantMessagesPerSecond applies" }),
        tenantAnswerBytesPerSecond: PositiveInt(16 * 1024 * 1024, { minimum: 65_536, maximum: 4 * 1024 * 1024 * 1024, description: "bytes per second of one tenant's RPC traffic, all its connections and POST /rpc requests together: frames and bodies received, and results made (sent or not) (refilled evenly); while it is used up, the tenant's frames and POST /rpc requests are refused, not run" }),
        tenantAnswerBytesBurst: PositiveInt(64 * 1024 * 1024, { minimum: 65_536, maximum: 4 * 1024 * 1024 * 1024, description: "bytes of RPC traffic (frames and bodies received, results made) one tenant may use at once before tenantAnswerBytesPerSecond applies" }),
        idleTimeoutSeconds: PositiveInt(120, { minimum: 5, maximum: 960, description: "a connection that answers neither data nor the server's pings for this long is closed" }),
        allowedOrigins: T.Array(T.String({ minLength: 1, maxLength: 300 }), {
          default: [],
          description: "browser origins (scheme://host[:port]) allowed to open a WebSocket besides the gateway's own; a handshake with any other Origin is refused (403)",
        }),
      },
      { ...strict, default: {} },
    ),
    console: T.Object(
      {
        sessionTtlSeconds: PositiveInt(43_200, { minimum: 300, maximum: 30 * 86_400, description: "web console (/ui/): a sign-in's cookie session ends this long after it began, used or not" }),
        idleTimeoutSeconds: PositiveInt(3_600, { minimum: 60, maximum: 30 * 86_400, description: "web console: a cookie session not used for this long ends" }),
        maxSessionsPerTenant: PositiveInt(10, { maximum: 1000, description: "web console: cookie sessions one tenant (or the admin) may have at once; a new sign-in past it ends the oldest" }),
        secureCookie: T.Union([T.Literal("auto"), T.Literal("always")], {
          default: "auto",
          description: "web console: auto marks the session cookie Secure when the request came over TLS (X-Forwarded-Proto: https from a gateway.trustedProxies peer); always marks it Secure on every sign-in (a TLS proxy that is not listed as trusted)",
        }),
      },
      { ...strict, default: {} },
    ),
    openclawProtocol: T.Object(
      {
        handshakeTimeoutMs: PositiveInt(15_000, { minimum: 1000, maximum: 120_000, description: "upstream-protocol WebSocket on /: a connection that has not authenticated (connect) within this is closed" }),
        tickIntervalMs: PositiveInt(30_000, { minimum: 1000, maximum: 300_000, description: "upstream-protocol WebSocket on /: a tick event this often (clients drop a connection silent for two)" }),
        maxPendingPerIp: PositiveInt(16, { maximum: 100_000, description: "unauthenticated connections on / from one address (an IPv6 /64) at once; more are refused with 429" }),
        maxPending: PositiveInt(512, { maximum: 1_000_000, description: "unauthenticated connections on / at once, all addresses; more are refused with 503" }),
      },
      { ...strict, default: {} },
    ),
    terminal: T.Object(
      {
        maxPerTenant: PositiveInt(3, { maximum: 1000, description: "web terminals (terminal.open) one tenant may have open at once, attached or waiting for a reconnect; more are refused with LIMIT" }),
        maxTotal: PositiveInt(64, { maximum: 100_000, description: "web terminals open at once, all tenants; more are refused with RATE_LIMITED" }),
        idleTimeoutSeconds: PositiveInt(900, { maximum: 7 * 86_400, description: "a terminal with neither input nor output for this long is closed (reason idle)" }),
        reconnectSeconds: PositiveInt(300, { maximum: 86_400, description: "how long a terminal whose WebSocket dropped stays alive for terminal.attach from another connection of the same tenant; then it is closed (reason detached)" }),
        maxLifetimeSeconds: PositiveInt(28_800, { maximum: 30 * 86_400, description: "a terminal's wall clock: its sandbox is killed this long after it opened (reason lifetime); it replaces the exec timeout, every other sandbox limit is exec's" }),
      },
      { ...strict, default: {} },
    ),
    cron: T.Object(
      {
        enabled: T.Boolean({ default: true, description: "whether scheduled jobs fire (off: jobs are kept and can be listed, added and run by hand, but nothing fires by schedule)" }),
        maxJobsPerTenant: PositiveInt(100, { maximum: 100_000, description: "cron jobs one tenant may have" }),
        minIntervalSeconds: PositiveInt(60, { maximum: 86_400, description: "shortest gap between two runs of one job (an every interval, or the gaps of a cron expression's next fire times)" }),
        maxConcurrentRunsPerTenant: PositiveInt(2, { maximum: 1000, description: "cron runs one tenant may have going at once; a due job past it gets a skipped run" }),
        maxConcurrentRuns: PositiveInt(16, { maximum: 10_000, description: "cron runs going at once, all tenants; a due job past it gets a skipped run" }),
        maxConsecutiveFailures: PositiveInt(5, { maximum: 1000, description: "failed runs in a row after which the gateway disables a job (with the reason shown to the tenant)" }),
        catchUpGraceSeconds: PositiveInt(3600, { maximum: 30 * 86_400, description: "a run missed while the gateway was down or the tenant suspended is caught up (catchUp: once) only if it was due at most this long ago" }),
        runsKeptPerJob: PositiveInt(200, { maximum: 100_000, description: "newest run records kept per job" }),
        webhookAllow: T.Array(EgressEntry, { default: [], maxItems: 200, description: "host:port patterns a job's webhook delivery may reach (as sandbox egress entries); empty: no webhook delivery. Private and local addresses are refused unless sandbox.egress.allowPrivate names them" }),
      },
      { ...strict, default: {} },
    ),
    channels: T.Object(
      {
        enabled: T.Boolean({ default: true, description: "whether paired messaging channels take deliveries (off: every webhook path answers the identical 404, pairing is refused)" }),
        secretKey: T.Optional(T.String({ description: "encrypts channel credentials at rest (AES-256-GCM, a key derived per channel); ${VAR} allowed. Absent: pairing is refused" })),
        publicBaseUrl: T.Optional(T.String({ pattern: "^https?://[^\\s/]+(/[^\\s]*)?$", maxLength: 500, description: "the gateway's public URL, from which each channel's webhook URL is made (absent: Telegram must use mode polling, the others are told their path only)" })),
        kinds: T.Object(
          {
            telegram: ChannelKindConfig("https://api.telegram.org"),
            slack: ChannelKindConfig("https://slack.com/api"),
            whatsapp: ChannelKindConfig("https://graph.facebook.com/v21.0"),
            discord: ChannelKindConfig("https://discord.com/api/v10"),
            webhook: T.Object(
              {
                enabled: T.Boolean({ default: true }),
                callbackAllow: T.Array(EgressEntry, { default: [], maxItems: 200, description: "host:port patterns a generic webhook channel's callback URL may reach (as sandbox egress entries); empty: no callbacks. Private and local addresses are refused unless sandbox.egress.allowPrivate names them" }),
              },
              { ...strict, default: {} },
            ),
          },
          { ...strict, default: {} },
        ),
        maxChannelsPerTenant: PositiveInt(10, { maximum: 1000, description: "channels one tenant may have paired" }),
        maxInboundBytes: PositiveInt(1_048_576, { minimum: 1024, maximum: 16 * 1024 * 1024, description: "bytes of one inbound delivery; a larger one gets the identical refusal" }),
        replayWindowSeconds: PositiveInt(300, { minimum: 30, maximum: 86_400, description: "how old a signed timestamp may be; deliveries seen are refused as replays" }),
        perPeerPerMinute: PositiveInt(30, { maximum: 100_000, description: "messages one sender may have dispatched per channel per minute; more are dropped (counted)" }),
        perChannelPerMinute: PositiveInt(600, { maximum: 1_000_000, description: "messages one channel may have dispatched per minute; more are dropped (counted)" }),
        maxConcurrentRunsPerTenant: PositiveInt(4, { maximum: 16, description: "agent runs channel messages of one tenant may have going at once (served round-robin over its channels)" }),
        maxQueuedPerChannel: PositiveInt(200, { maximum: 100_000, description: "messages waiting per channel; more are dropped (counted)" }),
        sendRetries: T.Integer({ minimum: 0, maximum: 10, default: 4, description: "further attempts of a reply the platform refused with 429 or 5xx (honouring its retry_after, 60 s at most)" }),
        pairingCodeTtlSeconds: PositiveInt(3600, { minimum: 60, maximum: 7 * 86_400, description: "how long a pairing code given to an unknown sender stays valid" }),
        maxPendingCodesPerChannel: PositiveInt(20, { maximum: 10_000, description: "unknown senders waiting for approval per channel; past it, new senders are ignored" }),
      },
      { ...strict, default: {} },
    ),
    mcp: T.Object(
      {
        enabled: T.Boolean({ default: true, description: "whether the gateway serves MCP (Streamable HTTP) at /mcp to tenant tokens" }),
        maxRequestBytes: PositiveInt(1_048_576, { minimum: 1024, maximum: 64 * 1024 * 1024, description: "bytes of one POST /mcp body; a larger one is refused (413) before it is parsed" }),
        maxConcurrentCallsPerTenant: PositiveInt(4, { maximum: 1000, description: "tools/call requests on /mcp one tenant may have going at once; more are answered RATE_LIMITED" }),
        callTimeoutSeconds: PositiveInt(60, { maximum: 3600, description: "a tools/call on /mcp ends after this (also within the agent's limits.maxSeconds)" }),
        allowedOrigins: T.Array(T.String({ minLength: 1, maxLength: 300 }), { default: [], maxItems: 100, description: "browser origins (scheme://host[:port]) allowed to call /mcp besides the gateway's own; a request with any other Origin is refused (403), per the MCP spec's DNS-rebinding guidance" }),
        remoteAllow: T.Array(EgressEntry, { default: [], maxItems: 200, description: "host:port patterns a tenant's remote MCP servers (overlay mcpServers) may be at (as sandbox egress entries); empty: no remote MCP servers. Private and local addresses are refused unless sandbox.egress.allowPrivate names them" }),
        clientIdleSeconds: PositiveInt(300, { maximum: 86_400, description: "a remote MCP server connection unused this long is closed (opened again on next use)" }),
        clientCallTimeoutSeconds: PositiveInt(30, { maximum: 3600, description: "a call to a remote MCP server (connect, list, call) ends after this (also within the run's time left)" }),
        clientMaxReconnects: PositiveInt(3, { maximum: 100, description: "failed connections to one remote MCP server in a row after which it is left alone for clientIdleSeconds" }),
      },
      { ...strict, default: {} },
    ),
    skills: T.Object(
      {
        maxPackagesPerTenant: PositiveInt(64, { maximum: 10_000, description: "skills a tenant may install, and plugins a tenant may install (each kind counted on its own)" }),
        maxArchiveBytes: PositiveInt(4 * 1024 * 1024, { minimum: 1024, maximum: 256 * 1024 * 1024, description: "bytes of one uploaded skill or plugin archive (tar, tar.gz or zip); an RPC upload is also held to gateway.limits.rpcBodyBytes" }),
        maxFiles: PositiveInt(256, { maximum: 100_000, description: "files and directories in one skill or plugin" }),
        maxBytes: PositiveInt(16 * 1024 * 1024, { minimum: 1024, maximum: 1024 * 1024 * 1024, description: "bytes of one skill's or plugin's files together (unpacked)" }),
        maxSkillMdBytes: PositiveInt(64 * 1024, { minimum: 1024, maximum: 1024 * 1024, description: "bytes of one SKILL.md" }),
        maxManifestBytes: PositiveInt(64 * 1024, { minimum: 1024, maximum: 1024 * 1024, description: "bytes of one openclaw.plugin.json" }),
      },
      { ...strict, default: {} },
    ),
    authThrottle: T.Object(
      {
        perIpMaxFailures: PositiveInt(30),
        perIpTenantMaxFailures: PositiveInt(10),
        windowSeconds: PositiveInt(60),
        blockSeconds: PositiveInt(60),
        maxBlockSeconds: PositiveInt(3600),
        ipv6PrefixBits: PositiveInt(64, { minimum: 32, maximum: 128, description: "IPv6 clients are throttled and audited per network of this prefix length (IPv4 per address)" }),
        maxAuditRecordsPerWindow: PositiveInt(20, { maximum: 10_000, description: "auth.throttle audit records per window, all sources together; further trips are counted in one summary record" }),
      },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
);

const ControlPlaneSection = T.Object(
  {
    apiKeyHash: T.Optional(T.String({ pattern: "^[0-9a-f]{64}$", description: "SHA-256 hex of the admin key" })),
  },
  { ...strict, default: {} },
);


const ProviderKey = T.Object(
  {
    name: T.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$", description: "names the key in logs, metrics and models.<m>.key (never the secret)" }),
    apiKey: T.String({ minLength: 1 }),
    weight: T.Optional(T.Integer({ minimum: 1, maximum: 1000, description: "share of traffic (weighted) or of concurrency (least-busy); default 1" })),
  },
  strict,
);

/** The wire formats a provider may speak (src/modules/providers/). */
export const PROVIDER_KINDS = ["openai", "anthropic", "gemini", "azure-openai", "bedrock"] as const;

/** Settings only some kinds take (load.ts checks that each kind has what it needs). */
const ProviderKindFields = {
  apiVersion: T.Optional(T.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9._-]+$", description: "azure-openai: the api-version query parameter (e.g. 2024-10-21)" })),
  region: T.Optional(T.String({ minLength: 1, maxLength: 64, pattern: "^[a-z0-9-]+$", description: "bedrock: the AWS region SigV4 signs for (e.g. us-east-1)" })),
  accessKeyId: T.Optional(T.String({ minLength: 1, description: "bedrock: AWS access key id" })),
  secretAccessKey: T.Optional(T.String({ minLength: 1, description: "bedrock: AWS secret access key" })),
  sessionToken: T.Optional(T.String({ minLength: 1, description: "bedrock: AWS session token (temporary credentials)" })),
};

const Provider = T.Object(
  {
    kind: T.Union(PROVIDER_KINDS.map((k) => T.Literal(k)), { description: "the wire format: openai, anthropic, gemini, azure-openai or bedrock" }),
    baseUrl: T.String({ pattern: "^https?://" }),
    apiKey: T.Optional(T.String()),
    headers: T.Optional(T.Record(T.String(), T.String())),
    timeoutMs: T.Integer({ minimum: 100, maximum: 3_600_000, default: 120_000, description: "longest silence from the provider (before headers or between stream chunks)" }),
    // Reliable routing (README "Reliable routing"): per-phase timeouts default to timeoutMs; a key pool replaces apiKey.
    connectTimeoutMs: T.Optional(T.Integer({ minimum: 50, maximum: 600_000, description: "longest wait for a TCP connection to the provider; a host that accepts none fails the attempt as a connection error (retried, then the next deployment)" })),
    firstByteTimeoutMs: T.Optional(T.Integer({ minimum: 100, maximum: 3_600_000, description: "longest wait for the provider's answer to begin (response headers, and a stream's first event); default timeoutMs" })),
    idleTimeoutMs: T.Optional(T.Integer({ minimum: 100, maximum: 3_600_000, description: "longest silence between stream chunks once the answer has begun; default timeoutMs" })),
    keys: T.Optional(T.Array(ProviderKey, { minItems: 1, maxItems: 64, description: "a pool of API keys used instead of apiKey; each attempt takes one by keyStrategy" })),
    keyStrategy: T.Optional(T.Union([T.Literal("least-busy"), T.Literal("weighted")], { description: "least-busy (default): the key with the fewest calls in flight, per weight; weighted: random in proportion to weight" })),

    ...ProviderKindFields,
    responses: T.Optional(T.Boolean({ description: "kind openai: the provider serves the Responses API (POST <baseUrl>/responses); /v1/responses is passed through to it instead of translated to chat completions" })),
    imageUrls: T.Optional(
      T.Object(
        {
          allow: T.Array(EgressEntry, { maxItems: 200, description: "hosts (host:port, *.suffix:port) whose https:// image URLs tenants may send; private and local addresses are refused whatever is listed" }),
        },
        strict,
      ),
    ),
  },
  strict,
);

/**
 * Chat completion fields no tenant may send unless the operator enables them per model (kind
 * "openai" only): each costs more than the rate card charges, keeps tenant data in the operator's
 * provider account, or attributes traffic there. See README "What reaches a provider".
 */
export const OPT_IN_CHAT_FIELDS = ["service_tier", "store", "metadata", "prediction", "modalities", "audio", "web_search_options", "prompt_cache_retention"] as const;

const Deployment = T.Object(
  {
    provider: T.String({ minLength: 1 }),
    upstreamModel: T.String({ minLength: 1 }),
    key: T.Optional(T.String({ minLength: 1, description: "the name of the provider's key this deployment always uses" })),
  },
  strict,
);

const Model = T.Object(
  {
    provider: T.String({ minLength: 1 }),
    upstreamModel: T.String({ minLength: 1 }),
    maxOutputTokens: T.Optional(
      T.Integer({ minimum: 1, description: "the model's own output limit: reserved for a request that sets no cap, which then reaches the provider without one" }),
    ),
    maxTokensField: T.Optional(
      T.Union([T.Literal("max_tokens"), T.Literal("max_completion_tokens")], {
        description: "the output-cap field this upstream model takes (reasoning models: max_completion_tokens); default: the field the client used",
      }),
    ),
    free: T.Optional(T.Boolean({ description: "served without charge; a model with no billing.rateCard entry must say so (true), or the config is refused" })),
    passthrough: T.Optional(
      T.Array(T.Union(OPT_IN_CHAT_FIELDS.map((f) => T.Literal(f))), { uniqueItems: true, description: "opt-in chat fields tenants may send to this model, forwarded as sent (kind openai only)" }),
    ),
    // Reliable routing: provider/upstreamModel is deployment 1; fallbacks follow in order.
    key: T.Optional(T.String({ minLength: 1, description: "the name of the provider's key (providers.<p>.keys) this model always uses" })),
    fallbacks: T.Optional(T.Array(Deployment, { maxItems: 16, description: "further deployments, tried in order when the ones before fail before the first byte (same provider kind)" })),
  },
  strict,
);

const Rate = T.Object(
  {
    input: T.Number({ minimum: 0 }),
    output: T.Number({ minimum: 0 }),
    cacheRead: T.Number({ minimum: 0, default: 0 }),
    cacheWrite: T.Number({ minimum: 0, default: 0 }),
    reasoning: T.Optional(T.Number({ minimum: 0 })),
  },
  strict,
);

const QuotaValues = T.Object(
  {
    tokensPerDay: T.Union([T.Integer({ minimum: 0 }), T.Null()], { default: 1_000_000 }),
    costPerDayUsd: T.Union([T.Number({ minimum: 0 }), T.Null()], { default: 10 }),
    requestsPerMinute: T.Union([T.Integer({ minimum: 0 }), T.Null()], { default: 60 }),
    maxConcurrent: T.Union([T.Integer({ minimum: 0 }), T.Null()], { default: 8 }),
  },
  { ...strict, default: {} },
);

export const SandboxModes = ["bwrap", "docker"] as const;
const SandboxMode = T.Union(SandboxModes.map((m) => T.Literal(m)));

export const SandboxLimits = T.Object(
  {
    memoryMb: T.Optional(T.Integer({ minimum: 16 })),
    cpus: T.Optional(T.Number({ exclusiveMinimum: 0 })),
    pids: T.Optional(T.Integer({ minimum: 1 })),
    timeoutSeconds: T.Optional(T.Integer({ minimum: 1 })),
    tmpfsMb: T.Optional(T.Integer({ minimum: 1 })),
    outputBytes: T.Optional(T.Integer({ minimum: 1 })),
    diskMb: T.Optional(T.Integer({ minimum: 1, description: "MiB the tenant's directory (workspace included) may hold" })),
    inodes: T.Optional(T.Integer({ minimum: 1, description: "names (files, directories, links) the tenant's directory may hold" })),
  },
  strict,
);

const SandboxSection = T.Object(
  {
    mode: T.Optional(SandboxMode),
    allowedModes: T.Optional(T.Array(SandboxMode, { minItems: 1 })),
    limits: T.Optional(SandboxLimits),
    limiter: T.Union([T.Literal("auto"), T.Literal("cgroup-v2"), T.Literal("cgroup-v1"), T.Literal("rlimits")], {
      default: "auto",
      description: "how bwrap runs are limited: auto (cgroup v2, else v1, else rlimits) or one of them (refused if unavailable)",
    }),
    maxConcurrent: T.Integer({ minimum: 1, maximum: 10_000, default: 8, description: "sandbox runs at once, all tenants" }),
    maxConcurrentPerTenant: T.Integer({ minimum: 1, maximum: 10_000, default: 2, description: "sandbox runs at once, per tenant" }),
    docker: T.Optional(
      T.Object(
        {
          image: T.Optional(T.String({ minLength: 1 })),
          runtime: T.Optional(T.String({ pattern: "^[a-z0-9_.-]+$" })),
          egressRuntime: T.Optional(T.String({ pattern: "^[a-z0-9_.-]+$", description: "gVisor runtime registered with --host-uds=open, used for runs with egress" })),
        },
        strict,
      ),
    ),
    egress: T.Optional(
      T.Object(
        {
          tools: T.Optional(T.Record(T.String({ pattern: "^[a-z0-9_.-]{1,64}$" }), T.Array(EgressEntry, { maxItems: 200 }))),
          allowPrivate: T.Optional(T.Array(T.String(), { maxItems: 200, description: "IPs or CIDRs a name may resolve to although private or local" })),
          maxConnectionsPerRun: T.Integer({ minimum: 1, maximum: 10_000, default: 32 }),
        },
        { ...strict, default: {} },
      ),
    ),
  },
  { ...strict, default: {} },
);

const BackupSection = T.Object(
  {
    s3: T.Optional(
      T.Object(
        {
          endpoint: T.Optional(T.String()),
          region: T.Optional(T.String()),
          forcePathStyle: T.Optional(T.Boolean()),
          accessKeyId: T.Optional(T.String()),
          secretAccessKey: T.Optional(T.String()),
          bucket: T.Optional(T.String({ description: "the bucket tenants' own backups (RPC tenants.backup) go to" })),
          prefix: T.Optional(T.String({ pattern: "^([A-Za-z0-9._-]+/)*$", description: "key prefix for generated keys, e.g. openclaw/" })),
        },
        strict,
      ),
    ),
    encryptionKey: T.Optional(T.String({ description: "encrypts new backups (AES-256-GCM); needed to restore encrypted ones" })),
    maxRestoreBytes: T.Integer({ minimum: 1, default: 50 * 1024 ** 3, description: "largest archive content a restore accepts" }),
    maxRestoreEntries: T.Integer({ minimum: 1, default: 1_000_000, description: "most entries a restore accepts" }),
    tenantMaxBackups: T.Integer({ minimum: 1, maximum: 10_000, default: 10, description: "a tenant's own backups (RPC tenants.backup) kept; older ones are pruned" }),
    tenantMaxBytes: T.Integer({ minimum: 1, default: 10 * 1024 ** 3, description: "bytes a tenant's own backups may hold in all; a larger one is refused, older ones are pruned" }),
    tenantMinIntervalMinutes: T.Integer({
      minimum: 0,
      maximum: 7 * 24 * 60,
      default: 15,
      description: "a tenant's own backups (RPC tenants.backup) start at most once per this many minutes (0: no interval); sooner ones get RATE_LIMITED with Retry-After",
    }),
  },
  { ...strict, default: {} },
);

const ResponsesSection = T.Object(
  {
    retentionDays: T.Number({ minimum: 0, maximum: 3650, default: 30, description: "how long a stored response (POST /v1/responses without store:false) is kept for GET, input_items and previous_response_id; 0 stores nothing" }),
    maxStoredPerTenant: T.Integer({ minimum: 0, maximum: 10_000_000, default: 10_000, description: "stored responses a tenant may keep at once; past it a request that asks to store is refused (429) until some expire or are deleted" }),
    maxStoredBytesPerTenant: T.Integer({ minimum: 0, maximum: 64 * 1024 * 1024 * 1024, default: 256 * 1024 * 1024, description: "bytes of stored responses (their input items and output) a tenant may keep at once" }),
    maxChainDepth: T.Integer({ minimum: 1, maximum: 100_000, default: 1_000, description: "how many earlier responses a previous_response_id chain may reach back" }),
  },
  { ...strict, default: {} },
);

const AuditSection = T.Object(
  {
    path: T.String({ default: "audit.log", minLength: 1 }),
    copytruncateReplaySeconds: T.Integer({ minimum: 0, maximum: 86_400, default: 120 }),
  },
  { ...strict, default: {} },
);

// Reliable routing (README "Reliable routing"): retries before the first byte, then the next deployment.
const RoutingSection = T.Object(
  {
    retries: T.Integer({ minimum: 0, maximum: 10, default: 0, description: "further attempts on the same deployment after a connection error, timeout, 429 or 5xx before the first byte" }),
    backoffMs: T.Integer({ minimum: 0, maximum: 60_000, default: 100, description: "base wait before a retry, doubled each time, with full jitter" }),
    maxBackoffMs: T.Integer({ minimum: 0, maximum: 300_000, default: 2_000, description: "longest wait before a retry; a 429 whose Retry-After is longer moves on to the next deployment instead" }),
    breaker: T.Object(
      {
        failures: T.Integer({ minimum: 1, maximum: 1000, default: 5, description: "consecutive failed attempts that open a deployment's circuit" }),
        cooldownSeconds: T.Integer({ minimum: 1, maximum: 3600, default: 30, description: "how long an open circuit is skipped before one trial attempt is let through" }),
      },
      { ...strict, default: {} },
    ),
  },
  { ...strict, default: {} },
);

// OpenTelemetry export (README "OpenTelemetry"): off unless an endpoint is set.
const TelemetrySection = T.Object(
  {
    otlp: T.Optional(
      T.Object(
        {
          endpoint: T.String({ pattern: "^https?://", description: "OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces" }),
          headers: T.Optional(T.Record(T.String(), T.String(), { description: "sent with each export (e.g. an authorization header)" })),
          serviceName: T.String({ minLength: 1, maxLength: 200, default: "openclawmu" }),
          content: T.Boolean({ default: false, description: "record prompts and completions in spans (off: only sizes, models, statuses and timings)" }),
        },
        strict,
      ),
    ),
  },
  { ...strict, default: {} },
);

export const GatewayConfigSchema = T.Object(
  {
    $schema: T.Optional(T.String()),
    gateway: GatewaySection,
    controlPlane: ControlPlaneSection,
    providers: T.Record(T.String({ pattern: "^[A-Za-z0-9_.-]+$" }), Provider, { default: {} }),
    models: T.Record(T.String({ pattern: "^[A-Za-z0-9_.:/-]+$" }), Model, { default: {} }),
    billing: T.Object(
      {
        currency: T.Literal("USD", { default: "USD" }),
        rateCard: T.Record(T.String(), Rate, { default: {} }),
      },
      { ...strict, default: {} },
    ),
    quotas: T.Object(
      {
        defaults: QuotaValues,
        defaultMaxOutputTokens: T.Integer({ minimum: 1, maximum: 10_000_000, default: 4096, description: "output cap (and reservation) when a request sets no max_tokens and its model no maxOutputTokens" }),
      },
      { ...strict, default: {} },
    ),
    sandbox: SandboxSection,
    backup: BackupSection,
    audit: AuditSection,
    agents: AgentsSection,
    routing: RoutingSection,
    telemetry: TelemetrySection,
    responses: ResponsesSection,
  },
  strict,
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;

/** Key paths whose values are secrets: redacted by `config show`, never logged. */
export const SECRET_KEY_NAMES: ReadonlySet<string> = new Set([
  "apiKey",
  "apiKeyHash",
  "secretAccessKey",
  "accessKeyId",
  "sessionToken",
  "encryptionKey",
  "secretKey",
]);
