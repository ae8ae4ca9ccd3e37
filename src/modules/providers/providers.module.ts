// LLM provider clients (OpenAI-compatible and Anthropic), built from the gateway config.
import { defineModule } from "../module.ts";
import { createProvidersService } from "./providers.service.ts";

export const providersModule = defineModule({
  name: "providers",
  create: (platform) => ({ providers: createProvidersService({ config: platform.config }) }),
});
