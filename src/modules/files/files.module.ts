// File tools over a tenant's workspace (the sandbox's /work), race-free against the tenant's own
// sandboxes (openat2), within the tenant's disk limits.
import { diskModule } from "../disk/disk.module.ts";
import { defineModule } from "../module.ts";
import { sandboxIdentity } from "../sandbox/host.ts";
import { sandboxModule } from "../sandbox/sandbox.module.ts";
import { filesRpc } from "./files.rpc.ts";
import { createFilesService } from "./files.service.ts";

export const filesModule = defineModule({
  name: "files",
  // The workspace is the sandbox's (it declares the directory); new files belong to its identity.
  needs: [diskModule, sandboxModule],
  create: (platform, { disk }) => ({ files: createFilesService({ home: platform.home, identity: sandboxIdentity, disk }) }),
}).with({
  rpc: filesRpc,
});
