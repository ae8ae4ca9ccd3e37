// Kind "azure-openai": Azure OpenAI's deployment URLs. The wire is OpenAI's chat completions (the
// openai kind's request, answer and stream handling), addressed to
// `<baseUrl>/openai/deployments/<deployment>/chat/completions?api-version=<apiVersion>` with the key in
// an `api-key` header. A model's `upstreamModel` is the deployment name.
import type { GatewayConfig } from "../../config/schema.ts";
import { openAiWire, prepareOpenAi } from "./openai.provider.ts";
import type { ChatProvider, Json, UpstreamRequest } from "./provider.ts";

type ProviderConfig = GatewayConfig["providers"][string];

interface AzureRequest extends UpstreamRequest {
  /** The deployment the body names (its `model`, the upstream model): part of the URL. */
  deployment: string;
}

export function deploymentUrl(baseUrl: string, deployment: string, apiVersion: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return `${base}/openai/deployments/${encodeURIComponent(deployment)}/chat/completions?api-version=${encodeURIComponent(apiVersion)}`;
}

export function prepareAzure(body: Json, stream: boolean): AzureRequest {
  return { ...prepareOpenAi(body, stream), deployment: String(body.model) };
}

export function createAzureProvider(name: string, cfg: ProviderConfig): ChatProvider {
  // load.ts refuses an azure-openai provider without apiVersion; the fallback only keeps types honest.
  const apiVersion = cfg.apiVersion ?? "";
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json", ...(cfg.headers ?? {}) };
  if (cfg.apiKey) headers["api-key"] = cfg.apiKey;
  return openAiWire(name, { prepare: prepareAzure, url: (req) => deploymentUrl(cfg.baseUrl, req.deployment, apiVersion), headers });
}
