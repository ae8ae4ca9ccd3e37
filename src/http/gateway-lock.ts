// One gateway per state directory: quota accounts live in the gateway's memory, so two gateways on
// one home would each admit a tenant's full quota. <home>/gateway.pid holds the running one's pid.
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../lib/fs-durable.ts";
import { AppError } from "../core/errors.ts";
import { processAlive } from "../lib/pid.ts";

export function acquireGatewayLock(home: string): { release(): void } {
  const file = path.join(home, "gateway.pid");
  const mine = String(process.pid);
  try {
    fs.writeFileSync(file, `${mine}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const other = Number(fs.readFileSync(file, "utf8").trim());
    if (Number.isInteger(other) && other > 0 && processAlive(other)) {
      throw new AppError("CONFLICT", `another gateway (pid ${other}) is already running on ${home}; stop it first`);
    }
    writeFileAtomic(file, `${mine}\n`); // stale: its process is gone
  }
  return {
    release() {
      try {
        if (fs.readFileSync(file, "utf8").trim() === mine) fs.rmSync(file);
      } catch {
        // already gone
      }
    },
  };
}
