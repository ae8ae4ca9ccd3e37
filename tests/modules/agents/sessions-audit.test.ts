// A session's creation commits with its audit record or not at all: with the audit log unwritable,
// chat.send creates nothing (no session row, no run row) and says why.
import { expect, test } from "bun:test";
import fs from "node:fs";
import { makeHome, operatorCtx, scope, testCore } from "../../helpers/core.ts";

test("no session is created when its audit record cannot be written", () => {
  const core = testCore({ home: makeHome(), config: { providers: { p: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1" } }, models: { m: { provider: "p", upstreamModel: "m", free: true } } } });
  core.tenants.create({ id: "acme" }, operatorCtx);
  // The audit log's path becomes a directory: appends fail.
  fs.rmSync(core.audit.file, { force: true });
  fs.mkdirSync(core.audit.file);
  let code = "";
  try {
    core.runs.send(scope("acme"), { sessionKey: "s", message: "hi" }, operatorCtx);
  } catch (err) {
    code = (err as { code?: string }).code ?? String(err);
  }
  expect(code).toBe("AUDIT_UNAVAILABLE");
  expect(core.handle.sqlite.query("SELECT count(*) AS n FROM agent_sessions").get()).toEqual({ n: 0 });
  expect(core.handle.sqlite.query("SELECT count(*) AS n FROM agent_runs").get()).toEqual({ n: 0 });
  fs.rmdirSync(core.audit.file);
  core.close();
});
