// The only place that reads the process environment. Read once at start, frozen, passed in.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Environment {
  readonly vars: Readonly<Record<string, string | undefined>>;
  /** Home from OPENCLAW_HOME, or ~/.openclaw. `--home` overrides it later. */
  readonly home: string;
  readonly adminKey?: string;
  readonly osUser: string;
  /** OPENCLAW_DEBUG: the CLI prints the stack of an unexpected error. */
  readonly debug: boolean;
  /** PATH, where the sandboxes' host tools (bwrap, docker, setpriv, unshare) are looked up. */
  readonly path: string;
}

/** The process's variables as they are now (the gateway's allocator re-exec passes them on whole). */
export function environmentVariables(): NodeJS.ProcessEnv {
  return { ...process.env };
}

export function readEnvironment(source: Record<string, string | undefined> = process.env): Environment {
  const vars = Object.freeze({ ...source });
  const osUser = currentOsUser(vars);
  return Object.freeze({
    vars,
    home: vars.OPENCLAW_HOME ? path.resolve(vars.OPENCLAW_HOME) : path.join(os.homedir(), ".openclaw"),
    adminKey: vars.OPENCLAW_ADMIN_KEY || undefined,
    osUser,
    debug: !!vars.OPENCLAW_DEBUG,
    path: vars.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
  });
}

/** The OS user running the CLI (audit actor for operator commands), without trusting $USER first. */
function currentOsUser(vars: Readonly<Record<string, string | undefined>>): string {
  const uid = process.getuid?.() ?? -1;
  try {
    const name = os.userInfo().username;
    if (name && name !== "unknown") return name;
  } catch {
    // fall through
  }
  try {
    for (const entry of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , id] = entry.split(":");
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // fall through
  }
  return vars.USER || vars.LOGNAME || `uid:${uid}`;
}
