// `openclaw doctor`: checks an operator can act on. Each check says ok, warn or fail and why.
import fs from "node:fs";
import path from "node:path";
import type { GatewayConfig } from "../../config/schema.ts";
import type { DbHandle } from "../../db/client.ts";
import { openat2Available } from "../../lib/openat2.ts";
import type { AdminKeyService } from "../admin-key/admin-key.service.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import { discoverLogFiles, verifyAuditFiles } from "../audit/audit.verify.ts";
import type { DiskGuard } from "../disk/disk.service.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import type { SandboxService } from "../sandbox/sandbox.service.ts";
import type { TenantsService } from "../tenants/tenants.service.ts";

/** What doctor looks at. */
export interface DoctorDeps {
  home: string;
  configFile: string;
  config: () => GatewayConfig;
  handle: DbHandle;
  tenants: TenantsService;
  overlays: OverlaysService;
  adminKey: AdminKeyService;
  audit: AuditLog;
  sandbox: SandboxService;
  disk: DiskGuard;
}

export interface DoctorCheck {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

function modeOf(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

export async function runDoctor(core: DoctorDeps): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (name: string, status: DoctorCheck["status"], detail: string) => checks.push({ name, status, detail });

  const homeMode = modeOf(core.home);
  add("home", homeMode & 0o077 ? "fail" : "ok", `${core.home} mode ${homeMode.toString(8).padStart(4, "0")}${homeMode & 0o077 ? " (should be 0700)" : ""}`);

  const loose: string[] = [];
  for (const name of ["openclaw.json", "state.db", "state.db-wal", "state.db-shm", path.relative(core.home, core.audit.file)]) {
    const p = path.resolve(core.home, name);
    if (fs.existsSync(p) && modeOf(p) & 0o077) loose.push(`${name} (${modeOf(p).toString(8)})`);
  }
  add("file permissions", loose.length ? "fail" : "ok", loose.length ? `readable by others: ${loose.join(", ")}` : "state files are 0600");

  const integrity = core.handle.sqlite.query("PRAGMA quick_check").get() as { quick_check: string } | null;
  add("database", integrity?.quick_check === "ok" ? "ok" : "fail", `state.db schema v${core.handle.schemaVersion}, quick_check ${integrity?.quick_check ?? "failed"}`);

  add("config", "ok", fs.existsSync(core.configFile) ? "openclaw.json valid" : "no openclaw.json (defaults)");
  // A tenant's invalid overlay is the tenant's problem, not the gateway's: warn, naming each one.
  const tenantIds = core.tenants.list().map((t) => t.tenantId);
  const overlayErrors = core.overlays.checkAll(tenantIds);
  add(
    "tenant overlays",
    overlayErrors.length ? "warn" : "ok",
    overlayErrors.length
      ? `${overlayErrors.length} refused (their overlay-dependent calls are refused; other tenants are served): ${overlayErrors.map((e) => `${e.tenantId}: ${e.message.replaceAll("\n", "; ")}`).join(" | ")}`
      : `${tenantIds.length} checked, all valid`,
  );

  const adminKey = core.adminKey.digests().length > 0;
  add("admin key", adminKey ? "ok" : "warn", adminKey ? "configured" : "none: the control plane refuses every call until you run `openclaw admin-key rotate`");

  const files = discoverLogFiles(core.audit.file);
  if (files.length === 0) add("audit log", "ok", `${core.audit.file} (not written yet)`);
  else {
    const r = verifyAuditFiles(files, { anchor: core.audit, liveFile: core.audit.file });
    add("audit log", r.ok ? "ok" : "fail", r.ok ? `${r.records} records verify` : `${r.problem!.file}:${r.problem!.line}: ${r.problem!.message}`);
  }
  await sandboxChecks(core, add);
  return checks;
}

type Add = (name: string, status: DoctorCheck["status"], detail: string) => void;

async function sandboxChecks(core: DoctorDeps, add: Add): Promise<void> {
  const allowed = core.config().sandbox.allowedModes ?? ["bwrap"];
  const s = await core.sandbox.status({ refresh: true, docker: true });
  const level = (mode: "bwrap" | "docker") => (allowed.includes(mode) ? "fail" : "warn");
  const b = s.host.bwrap;
  add("bwrap", b.problem ? level("bwrap") : "ok", b.problem ?? `bubblewrap ${b.version} at ${b.path} (--disable-userns supported)`);
  add(
    "seccomp",
    s.host.seccomp.ok ? "ok" : "fail",
    s.host.seccomp.ok ? `generated filter passes its self-test (${s.host.seccomp.instructions} instructions, ${s.host.arch})` : s.host.seccomp.failures.join("; "),
  );
  add("user namespaces", s.live ? (s.live.ok ? "ok" : level("bwrap")) : "warn", s.live ? s.live.detail : "not tested (bwrap unavailable)");
  const cg = s.host.cgroups;
  add("sandbox limits", cg.limiter === "rlimits" ? "warn" : "ok", cg.limiter === "rlimits" ? `rlimits only (${cg.note}) — ${s.warnings.join(" ") || "bwrap is not among sandbox.allowedModes"}` : `${cg.limiter}: ${cg.note}`);
  add("sandbox identity", s.host.identity.viaStage ? "warn" : "ok", s.host.identity.viaStage ? `the gateway runs as root; sandboxed code runs as uid ${s.host.identity.uid} (run the gateway as a dedicated user instead)` : `sandboxed code runs as the gateway's uid ${s.host.identity.uid}, without capabilities`);
  const d = s.docker;
  if (!d || d.problem) add("docker", level("docker"), d?.problem ?? "not checked");
  else {
    add("docker", d.imagePresent && d.runtimeAvailable ? "ok" : level("docker"), `engine ${d.serverVersion}; image ${d.image} ${d.imagePresent ? "present" : "missing (openclaw sandbox image build)"}; runtime ${d.runtime} ${d.runtimeAvailable ? "registered" : "not registered"}`);
    const gvisor = Object.entries(d.runtimes).filter(([, r]) => /(^|\/)runsc$/.test(r.path ?? ""));
    if (gvisor.length === 0) add("gVisor", "warn", "no runsc runtime registered with Docker (optional)");
    for (const [name, r] of gvisor) {
      const args = r.runtimeArgs ?? [];
      const missing = ["--network=none", "--oci-seccomp"].filter((a) => !args.includes(a));
      add(`gVisor runtime ${name}`, missing.length ? "warn" : "ok", missing.length ? `runtimeArgs lack ${missing.join(" and ")} (see README: sandboxes)` : `runtimeArgs ${args.join(" ")}`);
    }
  }
  const mounts = { idmap: "ok", path: "ok", copy: "warn", unavailable: "warn" } as const;
  add("sandbox mounts", mounts[s.mounts.method], s.mounts.detail);
  diskCheck(core, add);
  add("file tools", openat2Available() ? "ok" : "fail", openat2Available() ? "openat2 available (race-free workspace access)" : "openat2 is missing (Linux 5.6+ needed); files.* refuse to run");
}

const mib = (b: number) => `${Math.floor(b / (1024 * 1024))} MiB`;

/** Which disk-limit mechanism is active, the reserve, and whether the disk is under it now. */
function diskCheck(core: DoctorDeps, add: Add): void {
  const d = core.disk.status();
  const reserve = `reserve ${mib(d.reserve.bytes)} and ${d.reserve.inodes} inodes (gateway.diskReserveMb / diskReserveInodes)`;
  const free = `${mib(d.free.bytes)} and ${d.free.inodes} inodes free`;
  if (d.belowReserve) {
    add("disk", "fail", `${free} on ${d.filesystem.mountPoint ?? d.filesystem.path}, under the ${reserve}: tenant file writes and sandbox runs are refused until space is freed`);
    return;
  }
  const tight = d.free.bytes - d.reserve.bytes < d.ceilings.diskMb * 1024 * 1024;
  add(
    "disk",
    tight ? "warn" : "ok",
    `limits enforced by the gateway (${d.mechanism}): each tenant's directory holds at most ${d.ceilings.diskMb} MiB and ${d.ceilings.inodes} names (sandbox.limits.diskMb / inodes); ${reserve}; ${free}` +
      `${tight ? " — one tenant at its limit would reach the reserve" : ""}; ${d.filesystem.projectQuota.detail}${d.sharedWithState ? "" : "; the tenants' filesystem is not the one holding state.db and audit.log"}`,
  );
}
