import { PoisonMessageError } from '@batchline/bus';
import { builtInJobTypes, PromptTokenCounter } from '@batchline/job-types';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestLineBuilder } from '../src/intake.ts';

describe('batcher intake', () => {
  let db: MigratedTestDatabase;
  beforeAll(async () => {
    db = await migratedTestDatabase('batcher_intake');
  });
  afterAll(async () => {
    await db?.close();
  });
  const build = () =>
    requestLineBuilder({ pool: db.pool, jobTypes: builtInJobTypes(), defaultModel: 'gpt-4o-mini' });

  it('builds the provider request line with the catalogue, its bytes and its prompt tokens', async () => {
    const queued = await build()({
      jobType: 'specific_viewpoint',
      requestId: 7,
      fields: { text: 'The battery died.' },
    });
    expect(queued).toMatchObject({
      jobType: 'specific_viewpoint',
      requestId: '7',
      provider: 'openai',
      model: 'gpt-4o-mini',
    });
    const line = JSON.parse(queued.line);
    expect(line.custom_id).toMatch(/7$/);
    expect(queued.line).toContain('The battery died.');
    expect(queued.estimatedTokens).toBe(new PromptTokenCounter().count(line.body));
  });

  it('refuses, as poison naming the problem, an undeclared job type, a bad id or field, and another provider', async () => {
    const refuse = (event: Parameters<ReturnType<typeof build>>[0]) =>
      expect(build()(event)).rejects.toThrow(PoisonMessageError);
    await refuse({ jobType: 'nope', requestId: 1, fields: { text: 'x' } });
    await refuse({ jobType: 'specific_viewpoint', requestId: 'abc', fields: { text: 'x' } });
    await refuse({ jobType: 'specific_viewpoint', requestId: 1, fields: { text: ' ' } });
    await refuse({
      jobType: 'specific_viewpoint',
      requestId: 1,
      fields: { text: 'x' },
      provider: 'anthropic',
    });
    await expect(build()({ jobType: 'specific_viewpoint', requestId: 1, fields: {} })).rejects.toThrow(
      '"text" must be a non-empty string',
    );
  });
});
