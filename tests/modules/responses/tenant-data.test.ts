// Stored responses are tenant data: carried by a tenant's backup, restored (under another id too,
// where a previous_response_id chain still resolves), and deleted with the tenant.
import { expect, test } from "bun:test";
import path from "node:path";
import { cli } from "../../helpers/cli.ts";
import { makeHome, operatorCtx, scope, testCore } from "../../helpers/core.ts";
import { startFakeProvider } from "../../fake-provider/fake-provider.ts";

test("backup, restore --as and tenant delete carry stored responses", async () => {
  const fake = startFakeProvider();
  const home = makeHome();
  const config = {
    providers: { local: { kind: "openai", baseUrl: `${fake.url}/v1`, apiKey: "sk-x", timeoutMs: 60_000 } },
    models: { m: { provider: "local", upstreamModel: "up" } },
    billing: { rateCard: { m: { input: 1, output: 1 } } },
    quotas: { defaults: { tokensPerDay: null, costPerDayUsd: null, requestsPerMinute: null, maxConcurrent: null } },
  };
  const core = testCore({ home, config });
  core.tenants.create({ id: "acme" }, operatorCtx);
  const res = await core.responses.create({ tenant: scope("acme"), requestId: "r1", body: { model: "m", input: "remember [[words:2]]" } });
  const first = (await res.json()) as { id: string; output: unknown };
  core.close();

  const file = path.join(makeHome(), "acme.tar.zst");
  expect((await cli(home, ["tenants", "backup", "acme", "--to", file])).code).toBe(0);
  expect((await cli(home, ["tenants", "restore", "--from", file, "--as", "acme2"])).code).toBe(0);
  const c2 = testCore({ home, config });
  expect(c2.responses.get(scope("acme2"), first.id).output).toEqual(first.output);
  // The copy's conversation goes on from the restored response.
  await (await c2.responses.create({ tenant: scope("acme2"), requestId: "r2", body: { model: "m", input: "and then", previous_response_id: first.id } })).json();
  expect(fake.requests.at(-1)!.body.messages.map((m: any) => m.role)).toEqual(["user", "assistant", "user"]);
  // Deleting the original leaves the copy; its rows go with it.
  c2.tenants.remove(scope("acme"), operatorCtx);
  expect(c2.handle.sqlite.query("SELECT count(*) AS n FROM stored_responses WHERE tenant_id = 'acme'").get()).toEqual({ n: 0 });
  expect(c2.responses.get(scope("acme2"), first.id).id).toBe(first.id);
  c2.close();
  fake.stop();
});

test("a stored response still queued for the writer when its tenant is deleted (and created again) is not stored", async () => {
  const core = testCore({});
  core.tenants.create({ id: "acme" }, operatorCtx);
  const incarnation = core.tenants.incarnation("acme")!;
  core.responsesStore.put("acme", incarnation, { id: "resp_queued", previousId: null, createdAt: 0, response: { id: "resp_queued" }, inputItems: [] });
  core.tenants.remove(scope("acme"), operatorCtx);
  core.tenants.create({ id: "acme" }, operatorCtx);
  core.responsesWriter.flush();
  expect(core.handle.sqlite.query("SELECT count(*) AS n FROM stored_responses").get()).toEqual({ n: 0 });
  expect(core.responsesStore.get("acme", "resp_queued")).toBeNull();
  // The same write for the live incarnation is stored.
  core.responsesStore.put("acme", core.tenants.incarnation("acme")!, { id: "resp_live", previousId: null, createdAt: 0, response: { id: "resp_live" }, inputItems: [] });
  core.responsesWriter.flush();
  expect(core.handle.sqlite.query("SELECT id FROM stored_responses").all()).toEqual([{ id: "resp_live" }]);
  core.close();
});
