import { describe, expect, it } from 'vitest';
import { configuredProviders, ProviderError } from '../index.ts';

describe('configuredProviders', () => {
  it('makes the providers that have a key, and refuses the others with an auth error naming the variable', () => {
    const providers = configuredProviders({
      OPENAI_API_KEY: 'sk-set-0000',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    });
    expect(providers.get('openai').name).toBe('openai');
    expect(() => providers.get('anthropic')).toThrow(ProviderError);
    expect(() => providers.get('anthropic')).toThrow(
      expect.objectContaining({
        kind: 'auth',
        message: expect.stringContaining('ANTHROPIC_API_KEY is not set'),
      }),
    );
  });

  it('makes an Anthropic-only set', () => {
    const providers = configuredProviders({ ANTHROPIC_API_KEY: 'sk-ant-set-0000' });
    expect(providers.get('anthropic').name).toBe('anthropic');
    expect(() => providers.get('openai')).toThrow(expect.objectContaining({ kind: 'auth' }));
  });
});
