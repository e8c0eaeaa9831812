import { loadSettings } from '@batchline/config';
import { describe, expect, it } from 'vitest';
import { serviceHelp } from '../src/commands/run.ts';
import { cliSettings } from '../src/settings.ts';

describe('the commands’ settings', () => {
  it('default the submission models', () => {
    expect(loadSettings(cliSettings, {})).toMatchObject({
      BATCHLINE_MODEL: 'gpt-4o-mini',
      BATCHLINE_ANTHROPIC_MODEL: 'claude-3-5-haiku-latest',
      POLL_SCHEDULE: [60_000, 120_000, 300_000],
    });
  });
});

describe('run <service> --help', () => {
  it("lists exactly the service's variables, required ones marked", async () => {
    const { fetcherService } = await import('@batchline/fetcher');
    const help = serviceHelp(fetcherService);
    const variables = help
      .split('\n')
      .map((line) => /^([A-Z][A-Z0-9_]+)\s/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    expect(variables.sort()).toEqual(Object.keys(fetcherService.settings).sort());
    expect(variables).toContain('RESULTS_CHUNK_RECORDS');
    expect(variables).not.toContain('POLL_SCHEDULE');
    expect(help).toMatch(/DATABASE_URL\s+required/);
    expect(help).toMatch(/RESULTS_CHUNK_RECORDS\s+5000/);
  });
});
