// A terminal's output is held to its tenant's byte budget (gateway.websocket.tenantAnswerBytesPerSecond),
// as every answer is (red team 19): a shell printing as fast as it can (`yes`) was sent ~40 MB/s, a
// core of the gateway's CPU, whatever the budget said. Past the budget the output waits; what the
// 64 KiB replay no longer holds is skipped with a notice, and the end of the output still arrives.
import { afterAll, expect, test } from "bun:test";
import { outputOf, termWorld, typeInto, waitOutput, waitPrompt } from "./harness.ts";

const RATE = 65_536;
const w = termWorld({ label: "bwrap", mode: "bwrap" }, { gateway: { websocket: { tenantAnswerBytesPerSecond: RATE, tenantAnswerBytesBurst: RATE } } });
afterAll(() => w.close());

test("a flood of output is sent no faster than the tenant's byte budget; the end of it still arrives", async () => {
  const c = await w.client(w.a);
  const id = (await c.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
  await waitPrompt(c, id);
  const started = performance.now();
  const from = outputOf(c, id).length;
  typeInto(c, id, "yes 0123456789012345678901234567890123456789 | head -c 50000000; echo D\"\"ONE\r");
  await waitOutput(c, id, /DONE\r\n/, 60_000, from);
  const seconds = (performance.now() - started) / 1000;
  const told = outputOf(c, id).length - from;
  // The shell's input is never refused for the output: the output leaves the budget's lower half alone.
  // The budget (burst + rate × time) plus one message past it; 50 MB unheld.
  expect(told).toBeLessThan(RATE + RATE * seconds + 70_000);
  expect(outputOf(c, id)).toContain("output skipped");
  // Still usable afterwards.
  const after = outputOf(c, id).length;
  typeInto(c, id, "echo A\"\"LIVE\r");
  await waitOutput(c, id, /ALIVE\r\n/, 30_000, after);
  await c.call("terminal.close", { terminalId: id });
}, 120_000);

test("a ^C typed into a flooding terminal is not refused for the output's sake: the flood stops", async () => {
  const c = await w.client(w.a);
  const id = (await c.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
  await waitPrompt(c, id);
  const from = outputOf(c, id).length;
  typeInto(c, id, "yes 0123456789012345678901234567890123456789\r");
  await waitOutput(c, id, /0123456789\r\n0123456789/, 30_000, from);
  await Bun.sleep(1000);
  c.send({ jsonrpc: "2.0", id: 900, method: "terminal.input", params: { terminalId: id, data: "\x03" } });
  expect((await c.next((m) => m.id === 900, "the ^C's answer")).result).toEqual({});
  const after = outputOf(c, id).length;
  typeInto(c, id, "echo S\"\"TOPPED\r");
  await waitOutput(c, id, /STOPPED\r\n/, 30_000, after);
  await c.call("terminal.close", { terminalId: id });
}, 120_000);
