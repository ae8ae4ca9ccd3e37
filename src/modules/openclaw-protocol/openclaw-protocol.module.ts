// Upstream OpenClaw's gateway protocol (v4) on `/`, so the `openclaw` CLI, TUI and Control UI talk to a
// tenant's agent with its token: the handshake, the method families of methods/, events and limits.
// Each connection is one tenant's, counted against its WebSocket caps and ended with the ws module's
// connections when the tenant stops (suspend, delete, restore, token revoked) or the gateway drains.
// The HTTP upgrade and the token check are the http layer's (http/openclaw-v4.routes.ts): only the
// edge's authentication makes a tenant identity.
import { defineModule } from "../module.ts";
import { V4_NEEDS } from "./needs.ts";
import { createProtocolService } from "./protocol.service.ts";

export const openclawProtocolModule = defineModule({
  name: "openclawProtocol",
  needs: V4_NEEDS,
  create: (platform, svc) => ({ openclawProtocol: createProtocolService(platform, svc) }),
});
