// Tenant WebSockets: the live connections of GET /rpc and GET / (counted, capped, ended when their
// tenant stops), the frame budget every surface takes from (per connection and per tenant,
// ws.budget.ts) and the two methods that choose what a connection is told. The transport — handshake,
// frames, events, backpressure — is in src/http/ws-rpc.*.ts.
import { defineModule } from "../module.ts";
import { eventsModule } from "../events/events.module.ts";
import { metricsModule } from "../metrics/metrics.module.ts";
import { tenantsModule } from "../tenants/tenants.module.ts";
import { createConnections } from "./ws.connections.ts";
import { wsRpc } from "./ws.rpc.ts";

export const wsModule = defineModule({
  name: "ws",
  needs: [tenantsModule, eventsModule, metricsModule],
  create(platform, { tenants, metrics }) {
    return { wsConnections: createConnections({ config: platform.config, watch: tenants.watchWork, refused: metrics.quotaRefusal }) };
  },
}).with({
  rpc: wsRpc,
  tenantData: {
    onStop: ({ wsConnections }, stop) => wsConnections.stop(stop),
  },
});
