import type { ProviderName } from '@batchline/domain';
import { createAnthropicProvider } from './anthropic-provider.ts';
import { createOpenAIProvider } from './openai-provider.ts';
import type { BatchProvider } from './provider.ts';
import { ProviderError } from './provider-error.ts';

/** The providers a service talks to; `get` throws a `ProviderError` (kind `auth`) for one not configured. */
export interface ProviderSet {
  get(name: ProviderName): BatchProvider;
}

/** The variable that holds each provider's API key (as its official SDK reads it). */
export const API_KEY_VARIABLE: Readonly<Record<ProviderName, string>> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
};

/** The variables of both providers, as the configuration (or the environment) has them. */
export interface ProviderVariables {
  OPENAI_API_KEY?: string | undefined;
  OPENAI_BASE_URL?: string | undefined;
  ANTHROPIC_API_KEY?: string | undefined;
  ANTHROPIC_BASE_URL?: string | undefined;
}

/**
 * The providers whose API key is set. A provider without a key fails each use with its `ProviderError` (kind
 * `auth`, naming the variable), which pauses or retries the work of that provider alone instead of stopping the
 * service: an OpenAI-only or an Anthropic-only install runs.
 */
export function configuredProviders(variables: ProviderVariables): ProviderSet {
  const made = new Map<ProviderName, BatchProvider>();
  if (variables.OPENAI_API_KEY !== undefined) {
    made.set(
      'openai',
      createOpenAIProvider({ apiKey: variables.OPENAI_API_KEY, baseURL: variables.OPENAI_BASE_URL }),
    );
  }
  if (variables.ANTHROPIC_API_KEY !== undefined) {
    made.set(
      'anthropic',
      createAnthropicProvider({ apiKey: variables.ANTHROPIC_API_KEY, baseURL: variables.ANTHROPIC_BASE_URL }),
    );
  }
  return {
    get(name) {
      const provider = made.get(name);
      if (provider) return provider;
      throw new ProviderError({
        kind: 'auth',
        operation: 'configure',
        message: `${name} client not configured: ${API_KEY_VARIABLE[name]} is not set`,
      });
    },
  };
}
