// startGateway(core): checks tenant overlays, starts every module's background work (in the order of
// src/app/modules.ts), listens, reloads the config when it changes (and on SIGHUP), and shuts down
// cleanly: requests drain, then the modules stop in reverse order. The HTTP surface is createApp.
import path from "node:path";
import type { Core } from "../app/core.ts";
import type { Logger } from "../core/logger.ts";
import { AppError } from "../core/errors.ts";
import { acquireGatewayLock } from "./gateway-lock.ts";
import { startCheckpointer } from "../db/checkpointer.ts";
import { newRequestId } from "../lib/ids.ts";
import { errorResponse } from "./errors.ts";
import { maxBodyLimit } from "./limits.ts";
import { createApp, type AppOptions } from "./server.ts";
import { fileStamp } from "../lib/fs-durable.ts";
import type { Running } from "../modules/module.ts";

export interface GatewayHandle {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes the database. */
  stop(): Promise<void>;
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

/** Stops the modules' background work, last started first; one that fails to stop does not keep the others running. */
async function stopAll(running: Running[], log: Logger): Promise<void> {
  for (const r of [...running].reverse()) {
    try {
      await r.stop();
    } catch (err) {
      log.error("a module's background work did not stop cleanly", { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** Checks tenant overlays (never refusing to start over one), starts the modules, then listens. */
export function startGateway(core: Core, opts: AppOptions = {}): GatewayHandle {
  const log = core.log.withTag("gateway");
  // Serving uses every part of the config: each ${NAME} it references must be set (named if not).
  core.requireAllSecrets();
  checkOverlays(core, log, "start");
  const lock = acquireGatewayLock(core.home);
  // In list order: the audit log adopts what a crash left, the ledger settles requests left in
  // flight, the sandboxes test themselves… before the first request.
  const running: Running[] = [];
  try {
    for (const m of core.modules) {
      const r = m.start?.(core.servicesOf(m));
      if (r) running.push(r);
    }
  } catch (err) {
    void stopAll(running, log);
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
    void stopAll(running, log);
    lock.release();
    throw err;
  }
  const server = app.server!;
  const checkpointer = startCheckpointer(core.handle, log);

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
  const stampOf = () => fileStamp(core.configFile) ?? "missing";
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
        // Open WebSockets would hold the drain for the whole grace period: they are told (1001) now.
        core.wsConnections.closeAll();
        clearInterval(poll);
        process.off("SIGHUP", onHup);
        const grace = Bun.sleep(limits.shutdownGraceSeconds * 1000).then(() => "timeout" as const);
        const result = await Promise.race([server.stop(false).then(() => "drained" as const), grace]);
        if (result === "timeout") {
          log.warn("shutdown grace period ended; closing remaining connections");
          await server.stop(true);
        }
        await stopAll(running, log);
        await checkpointer.stop();
        core.close();
        lock.release();
        log.info("stopped");
      })();
      return stopped;
    },
  };
}
