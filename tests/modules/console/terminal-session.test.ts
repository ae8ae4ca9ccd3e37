// A console session's terminal after sign-out (red team 19): the WebSocket the session opened is told
// no more of the terminal's output — the sign-out ends the connection at once (an ended identity; before
// that change, the next output did) and the terminal waits, detached, for a reconnect by a live
// credential of the same tenant.
import { afterAll, expect, test } from "bun:test";
import { WsClient } from "../../helpers/ws.ts";
import { outputOf, termWorld, typeInto, waitOutput, waitPrompt } from "../terminal/harness.ts";
import { originOf, signIn } from "./helpers.ts";

const w = termWorld({ label: "bwrap", mode: "bwrap" });
afterAll(() => w.close());

test("a signed-out session's WebSocket hears nothing more of its terminal; the terminal is detached", async () => {
  const s = await signIn(w.gw.url, { token: w.a });
  const c = await WsClient.open(w.url, { headers: { cookie: s.cookie, origin: originOf(w.gw.url) } });
  try {
    const id = (await c.call("terminal.open", { cols: 80, rows: 24 })).result.terminalId;
    await waitPrompt(c, id);
    typeInto(c, id, 'while :; do echo T""ICK; sleep 0.2; done\r');
    await waitOutput(c, id, /TICK\r\n/);
    const out = await fetch(`${w.gw.url}/ui/api/session`, { method: "DELETE", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });
    expect(out.status).toBe(204);
    const told = outputOf(c, id).length;
    expect((await c.waitClosed()).code).toBe(4001);
    // At most the output already on its way when the session ended (none is sent after the check).
    expect(outputOf(c, id).length).toBe(told);
    const bearer = await w.client(w.a);
    const list = (await bearer.call("terminal.list", {})).result.terminals;
    expect(list).toEqual([expect.objectContaining({ terminalId: id, attached: false })]);
    await bearer.call("terminal.attach", { terminalId: id });
    await bearer.call("terminal.close", { terminalId: id });
  } finally {
    c.close();
  }
}, 120_000);
