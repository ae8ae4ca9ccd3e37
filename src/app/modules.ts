// The feature modules, in the order they are built: each after the modules it needs. Adding a feature
// is one folder under src/modules/ and one line here (see README "Architecture").
import { agentsModule } from "../modules/agents/agents.module.ts";
import { channelsModule } from "../modules/channels/channels.module.ts";
import { cronModule } from "../modules/cron/cron.module.ts";
import { consoleModule } from "../modules/console/console.module.ts";
import { admissionModule } from "../modules/admission/admission.module.ts";
import { adminKeyModule } from "../modules/admin-key/admin-key.module.ts";
import { auditModule } from "../modules/audit/audit.module.ts";
import { backupModule } from "../modules/backup/backup.module.ts";
import { chatModule } from "../modules/chat/chat.module.ts";
import { diskModule } from "../modules/disk/disk.module.ts";
import { doctorModule } from "../modules/doctor/doctor.module.ts";
import { embeddingsModule } from "../modules/embeddings/embeddings.module.ts";
import { eventsModule } from "../modules/events/events.module.ts";
import { filesModule } from "../modules/files/files.module.ts";
import { mcpModule } from "../modules/mcp/mcp.module.ts";
import { messagesModule } from "../modules/messages/messages.module.ts";
import { metricsModule } from "../modules/metrics/metrics.module.ts";
import { terminalModule } from "../modules/terminal/terminal.module.ts";
import { telemetryModule } from "../modules/telemetry/telemetry.module.ts";
import { modelsModule } from "../modules/models/models.module.ts";
import { openclawProtocolModule } from "../modules/openclaw-protocol/openclaw-protocol.module.ts";
import type { ServicesOf } from "../modules/module.ts";
import { overlaysModule } from "../modules/overlays/overlays.module.ts";
import { providersModule } from "../modules/providers/providers.module.ts";
import { responsesModule } from "../modules/responses/responses.module.ts";
import { quotasModule } from "../modules/quotas/quotas.module.ts";
import { sandboxModule } from "../modules/sandbox/sandbox.module.ts";
import { skillsModule } from "../modules/skills/skills.module.ts";
import { tenantsModule } from "../modules/tenants/tenants.module.ts";
import { usageModule } from "../modules/usage/usage.module.ts";
import { wsModule } from "../modules/ws/ws.module.ts";

export const MODULES = [metricsModule, auditModule, adminKeyModule, overlaysModule, tenantsModule, eventsModule, wsModule, diskModule, admissionModule, sandboxModule, filesModule, usageModule, quotasModule, modelsModule, telemetryModule, providersModule, chatModule, messagesModule, responsesModule, embeddingsModule, agentsModule, terminalModule, channelsModule, skillsModule, mcpModule, cronModule, openclawProtocolModule, backupModule, doctorModule, consoleModule] as const;

/** Every module's services, by name: what the core offers the HTTP layer, the CLI and tests. */
export type Services = ServicesOf<typeof MODULES>;
