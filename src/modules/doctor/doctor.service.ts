// `openclaw doctor`: checks an operator can act on. Each check says ok, warn or fail and why.
import fs from "node:fs";
import path from "node:path";
import type { Core } from "../../core/core.ts";
import { discoverLogFiles, verifyAuditFiles } from "../audit/audit.verify.ts";

export interface DoctorCheck {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

function modeOf(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

export async function runDoctor(core: Core): Promise<DoctorCheck[]> {
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

  const overlayErrors = core.overlays.checkAll(core.tenants.list().map((t) => t.tenantId));
  add("config", overlayErrors.length ? "fail" : "ok", overlayErrors.length ? overlayErrors.join("; ") : `${core.loaded.exists ? "openclaw.json" : "defaults"} and tenant overlays valid`);

  const adminKey = core.adminDigests().length > 0;
  add("admin key", adminKey ? "ok" : "warn", adminKey ? "configured" : "none: the control plane refuses every call until you run `openclaw admin-key rotate`");

  const files = discoverLogFiles(core.audit.file);
  if (files.length === 0) add("audit log", "ok", `${core.audit.file} (not written yet)`);
  else {
    const r = verifyAuditFiles(files, { anchor: core.audit, liveFile: core.audit.file });
    add("audit log", r.ok ? "ok" : "fail", r.ok ? `${r.records} records verify` : `${r.problem!.file}:${r.problem!.line}: ${r.problem!.message}`);
  }
  return checks;
}
