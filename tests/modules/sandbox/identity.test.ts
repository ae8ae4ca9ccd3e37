// A sandbox run started for a tenant request re-checks the request's identity first: a request may
// wait (a batch, a slot, a mode probe) while its token is revoked or its tenant suspended, deleted or
// replaced, and then it must not start a run in what may be another tenant's workspace.
import { afterAll, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { IdentityEnded, mintTenantScope, type TenantIdentity } from "../../../src/edge/tenant-scope.ts";
import { MODES, sandboxWorld } from "../../helpers/sandbox.ts";

const w = sandboxWorld(MODES[0]!);
afterAll(() => w.core.close());

function identity(current: boolean): TenantIdentity {
  return mintTenantScope("alpha", {
    incarnation: "test",
    actor: { kind: "tenant", id: "tok_test" },
    assertCurrent() {
      if (!current) throw new IdentityEnded();
    },
    adopt() {},
  }) as unknown as TenantIdentity;
}

test("a run for an identity that has ended is refused before anything starts (UNAUTHORIZED, no run recorded)", async () => {
  const marker = path.join(w.workspace("alpha"), "ran");
  const err = await w.core.sandbox.run({ tenant: identity(false), command: ["/bin/sh", "-c", "echo ran > /work/ran"], origin: "rpc" }).then(
    () => null,
    (e: Error & { code?: string }) => e,
  );
  expect(err?.code).toBe("UNAUTHORIZED");
  expect(fs.existsSync(marker)).toBe(false);
  // The same identity while it is current runs.
  const ok = await w.core.sandbox.run({ tenant: identity(true), command: ["/bin/sh", "-c", "echo ran"], origin: "rpc" });
  expect({ exit: ok.exitCode, out: ok.stdout }).toEqual({ exit: 0, out: "ran\n" });
}, 60_000);
