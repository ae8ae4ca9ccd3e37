import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "tenants", description: "Create, inspect and manage tenants" },
  subCommands: {
    create: () => import("./tenants/create.ts").then((m) => m.default),
    list: () => import("./tenants/list.ts").then((m) => m.default),
    show: () => import("./tenants/show.ts").then((m) => m.default),
    suspend: () => import("./tenants/status.ts").then((m) => m.suspend),
    resume: () => import("./tenants/status.ts").then((m) => m.resume),
    delete: () => import("./tenants/delete.ts").then((m) => m.default),
    token: () => import("./tenants/token.ts").then((m) => m.default),
    quota: () => import("./tenants/quota.ts").then((m) => m.default),
    backup: () => import("./tenants/backup.ts").then((m) => m.backup),
    restore: () => import("./tenants/backup.ts").then((m) => m.restore),
    backups: () => import("./tenants/backup.ts").then((m) => m.backups),
  },
});
