// Provider clients by name, built from the gateway config and rebuilt when it changes.
import type { GatewayConfig } from "../../config/schema.ts";
import { createAnthropicProvider } from "./anthropic.provider.ts";
import { createOpenAiProvider } from "./openai.provider.ts";
import type { ChatProvider } from "./provider.ts";
import { createAzureProvider } from "./azure.provider.ts";
import { createBedrockProvider } from "./bedrock.provider.ts";
import { createGeminiProvider } from "./gemini.provider.ts";

/** The client for each provider kind (config schema PROVIDER_KINDS). */
const KINDS: Record<GatewayConfig["providers"][string]["kind"], (name: string, cfg: GatewayConfig["providers"][string]) => ChatProvider> = {
  openai: createOpenAiProvider,
  anthropic: createAnthropicProvider,
  gemini: createGeminiProvider,
  "azure-openai": createAzureProvider,
  bedrock: createBedrockProvider,
};

export function createProvidersService(deps: { config: () => GatewayConfig }) {
  let built: { config: GatewayConfig; providers: Map<string, ChatProvider> } | null = null;
  return {
    get(name: string): ChatProvider | undefined {
      const config = deps.config();
      if (!built || built.config !== config) {
        const providers = new Map<string, ChatProvider>();
        for (const [n, cfg] of Object.entries(config.providers)) {
          providers.set(n, KINDS[cfg.kind](n, cfg));
        }
        built = { config, providers };
      }
      return built.providers.get(name);
    },
  };
}

export type ProvidersService = ReturnType<typeof createProvidersService>;
