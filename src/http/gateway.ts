// startGateway(core): checks tenant overlays and the sandboxes, listens, reloads the config when it
// changes (and on SIGHUP), and shuts down cleanly. The HTTP surface itself is createApp (server.ts).
import fs from "node:fs";
import path from "node:path";
import type { Core } from "../core/core.ts";
import type { Logger } from "../core/logger.ts";
import { AppError } from "../core/errors.ts";
import { acquireGatewayLock } from "../core/gateway-lock.ts";
import { startCheckpointer } from "../db/checkpointer.ts";
import { newRequestId } from "../lib/ids.ts";
import { removeStaleRunCgroups } from "../modules/sandbox/cgroups.ts";
import { errorResponse } from "./errors.ts";
import { maxBodyLimit } from "./limits.ts";
import { createApp, type AppOptions } from "./server.ts";

export interface GatewayHandle {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes the database. */
  stop(): Promise<void>;
}

/**
 * The sandbox self-test at start: each allowed mode is checked (bwrap: version, --disable-userns,
 * seccomp self-test, a live test sandbox; docker: engine, runtime, image). A mode that fails is
 * refused for every run with the reason logged here; the gateway itself still starts.
 */
function checkSandboxes(core: Core, log: Logger): void {
  const allowed = core.config.sandbox.allowedModes ?? ["bwrap"];
  core.sandbox
    .status({ docker: allowed.includes("docker") })
    .then((s) => {
      const stale = removeStaleRunCgroups(s.host.cgroups);
      if (stale > 0) log.info(`removed ${stale} sandbox cgroup(s) left by an earlier process`);
      for (const w of s.warnings) log.warn(w);
      for (const mode of allowed) {
        const m = s.modes[mode];
        if (m.usable) log.info(`sandbox mode ${mode} ready`, { limiter: mode === "bwrap" ? s.host.cgroups.limiter : "docker", runtime: mode === "docker" ? s.docker?.runtime : undefined });
        else log.error(`sandbox mode ${mode} refused: ${m.reason}`);
      }
    })
    .catch((err) => log.error("sandbox self-test failed", { error: err instanceof Error ? err.message : String(err) }));
  if (allowed.includes("docker")) {
    void core.sandbox
      .reapOrphans()
      .then((n) => n > 0 && log.warn(`killed ${n} sandbox container(s) left running by a previous gateway`))
      .catch(() => {});
  }
}

/**
 * One tenant's overlay never stops the gateway: each invalid one is logged (and shown by doctor and
 * the admin API), its tenant's overlay-dependent calls are refused, and every other tenant is served.
 * Run at start and after every config reload (a lowered ceiling can invalidate an overlay).
 */
function checkOverlays(core: Core, log: Logger, why: string): void {
  for (const bad of core.overlays.checkAll(core.tenants.list().map((t) => t.tenantId))) {
    log.error(`tenant "${bad.tenantId}": config overlay refused (${why}); its calls that depend on the overlay are refused until it is fixed, other tenants are unaffected`, { tenant: bad.tenantId, reason: bad.message });
  }
}

/** Checks tenant overlays (never refusing to start over one), then listens. */
export function startGateway(core: Core, opts: AppOptions = {}): GatewayHandle {
  const log = core.log.withTag("gateway");
  checkOverlays(core, log, "start");
  const lock = acquireGatewayLock(core.home);
  try {
    core.audit.recover();
    core.ledger.recoverInFlight();
  } catch (err) {
    lock.release();
    throw err;
  }
  const { app, state } = createApp(core, opts);
  const { host, port, limits } = core.config.gateway;
  try {
    // Bun's own cap is a backstop above every route's limit, so our 413 (with its envelope) answers first.
    app.listen({
      hostname: host,
      port,
      development: false,
      idleTimeout: limits.idleTimeoutSeconds,
      maxRequestBodySize: maxBodyLimit(core.config) * 2,
      // The last resort, should anything escape the edge's own handlers: still our headers and one
      // log line, never Bun's bare page or a stack trace on stderr.
      error(err: Error) {
        const requestId = newRequestId();
        core.log.withTag("access").error("request failed outside the edge", { requestId, status: 500, error: err.message });
        return errorResponse(new AppError("INTERNAL", "internal error"), "control", requestId);
      },
    });
  } catch (err) {
    lock.release();
    throw err;
  }
  const server = app.server!;
  const checkpointer = startCheckpointer(core.handle, log);
  checkSandboxes(core, log);

  // openclaw.json changes (admin-key rotate, edits) and SIGHUP reload the config in place. The file is
  // polled once a second (a directory watch would also fire for every database write).
  const reload = (why: string) => {
    try {
      core.reloadConfig();
      log.info(`config reloaded (${why})`);
      checkOverlays(core, log, `config reloaded: ${why}`);
    } catch (err) {
      log.error(`config reload failed (${why}); keeping the running config`, { error: err instanceof Error ? err.message : String(err) });
    }
  };
  const stampOf = () => {
    const st = fs.statSync(core.configFile, { throwIfNoEntry: false });
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "missing";
  };
  let stamp = stampOf();
  const poll = setInterval(() => {
    const now = stampOf();
    if (now !== stamp) {
      stamp = now;
      reload("file changed");
    }
  }, 1000);
  poll.unref();
  const onHup = () => {
    reload("SIGHUP");
    log.info("audit log reopened (SIGHUP)", { file: path.relative(core.home, core.audit.file) || core.audit.file });
  };
  process.on("SIGHUP", onHup);

  const url = `http://${host.includes(":") ? `[${host}]` : host}:${server.port}`;
  log.info(`listening on ${url}`);
  let stopped: Promise<void> | null = null;
  return {
    url,
    port: server.port!,
    stop() {
      stopped ??= (async () => {
        state.draining = true;
        clearInterval(poll);
        process.off("SIGHUP", onHup);
        const grace = Bun.sleep(limits.shutdownGraceSeconds * 1000).then(() => "timeout" as const);
        const result = await Promise.race([server.stop(false).then(() => "drained" as const), grace]);
        if (result === "timeout") {
          log.warn("shutdown grace period ended; closing remaining connections");
          await server.stop(true);
        }
        await checkpointer.stop();
        core.close();
        lock.release();
        log.info("stopped");
      })();
      return stopped;
    },
  };
}
