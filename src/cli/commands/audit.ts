import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "audit", description: "Read and verify the audit log" },
  subCommands: {
    tail: () => import("./audit/tail.ts").then((m) => m.default),
    verify: () => import("./audit/verify.ts").then((m) => m.default),
  },
});
