// Provider clients by name, built from the gateway config and rebuilt when it changes.
import { unresolvedRefs } from "../../config/env-refs.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import { createAnthropicProvider } from "./anthropic.provider.ts";
import { createOpenAiProvider } from "./openai.provider.ts";
import type { ChatProvider } from "./provider.ts";

export function createProvidersService(deps: { config: () => GatewayConfig }) {
  let built: { config: GatewayConfig; providers: Map<string, ChatProvider> } | null = null;
  return {
    get(name: string): ChatProvider | undefined {
      const config = deps.config();
      if (!built || built.config !== config) {
        const providers = new Map<string, ChatProvider>();
        for (const [n, cfg] of Object.entries(config.providers)) {
          providers.set(n, cfg.kind === "anthropic" ? createAnthropicProvider(n, cfg) : createOpenAiProvider(n, cfg));
        }
        built = { config, providers };
      }
      // A provider whose config references an unset variable is not called (the serving gateway
      // refuses such a config outright; this holds for any other user of the service).
      if (built.providers.has(name) && unresolvedRefs(config, ["providers", name]).length > 0) {
        throw new AppError("UPSTREAM_ERROR", `provider "${name}" is not usable: its config references an environment variable that is not set`);
      }
      return built.providers.get(name);
    },
  };
}

export type ProvidersService = ReturnType<typeof createProvidersService>;
