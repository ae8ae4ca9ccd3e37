// terminal.open and terminal.close write audit records, so they count as the tenant's audited changes
// (gateway.limits.tenantChangesPerMinute / tenantChangesBurst): opening and closing in a loop cannot
// grow the audit log without bound. (tests/http/change-rate.security.test.ts checks the other methods
// over POST /rpc, where these two answer BAD_REQUEST.)
import { afterAll, expect, test } from "bun:test";
import { ManualClock } from "../../../src/core/clock.ts";
import { MODES } from "../../helpers/sandbox.ts";
import { operatorCtx, scope } from "../../helpers/core.ts";
import { termWorld, waitPrompt } from "./harness.ts";

const clock = new ManualClock(Date.now());
const w = termWorld(MODES[0]!, { clock, gateway: { limits: { tenantChangesBurst: 4 } } });
afterAll(() => w.close());

test("open and close are audited changes: past the burst they are refused, nothing opened or audited", async () => {
  const c = await w.client(w.a);
  const before = w.core.audit.query({ action: "terminal.open" }).length;
  const t1 = (await c.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
  await waitPrompt(c, t1);
  expect((await c.call("terminal.close", { terminalId: t1 })).result).toEqual({});
  const t2 = (await c.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
  await waitPrompt(c, t2);
  expect((await c.call("terminal.close", { terminalId: t2 })).result).toEqual({});
  const refused = await c.call("terminal.open", { cols: 80, rows: 24 });
  expect(refused.error.data.code).toBe("RATE_LIMITED");
  expect(refused.error.message).toContain("tenantChanges");
  expect(w.core.terminal.count()).toBe(0);
  expect(w.core.audit.query({ action: "terminal.open" }).length - before).toBe(2);
}, 60_000);

test("the end of the token that opened a terminal closes it (reason token-revoked) and the connection it held", async () => {
  const c = await w.client(w.b);
  const t = (await c.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
  await waitPrompt(c, t);
  w.core.tenants.rotateToken(scope("beta"), 0, operatorCtx);
  const deadline = Date.now() + 10_000;
  while (w.core.terminal.count("beta") > 0 && Date.now() < deadline) await Bun.sleep(20);
  expect(w.core.terminal.count("beta")).toBe(0);
  expect(w.core.audit.query({ action: "terminal.close" }).filter((x: any) => x.target?.id === t)[0]).toMatchObject({ details: { reason: "token-revoked" } });
  // The connection authenticated by the ended token is closed (4001), so nothing more runs on it.
  expect((await c.waitClosed()).code).toBe(4001);
}, 60_000);
