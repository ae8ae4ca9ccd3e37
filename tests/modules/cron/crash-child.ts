// A gateway process that dies (SIGKILL) the instant a cron payload would start: after the run's record
// committed, before anything of the payload ran. Arguments: <home> <now ms>.
import { ManualClock } from "../../../src/core/clock.ts";
import { ManualTimers } from "../../../src/core/timers.ts";
import { cronModule } from "../../../src/modules/cron/cron.module.ts";
import { testCore } from "../../helpers/core.ts";

const [home, now] = [process.argv[2]!, Number(process.argv[3])];
const clock = new ManualClock(now);
const timers = new ManualTimers(clock);
const core = testCore({ home, clock, timers });
core.cronEngine.useRunner(async () => {
  process.kill(process.pid, "SIGKILL");
  await new Promise(() => {});
  throw new Error("unreachable");
});
cronModule.start!(core.servicesOf(cronModule) as never);
timers.fireDue();
await new Promise((r) => setTimeout(r, 30_000));
