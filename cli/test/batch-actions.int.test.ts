import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { insertBatchLog } from '@batchline/db';
import { BatchStatus, CHAT_COMPLETIONS_URL } from '@batchline/domain';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { createOpenAIProvider } from '@batchline/providers';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, TEST_OPENAI_KEY } from './support.ts';

/** The audit log's actor of a command: the OS user who runs it. */
const ACTOR = `cli:${userInfo().username}`;

/** `batchline cancel|pause|resume|priority`: the admin API's actions, run from the command line. */
describe('batchline cancel, pause, resume and priority', () => {
  let db: MigratedTestDatabase;
  let emulator: Emulator;
  let scratch: string;
  let seeded = 0;
  const cli = (...args: string[]) => runCli(args, cliEnv(db.url, emulator));

  beforeAll(async () => {
    db = await migratedTestDatabase('cli_actions');
    // Batches stay in progress for ten minutes: long enough to cancel one.
    emulator = await startEmulator({ clock: { validatingMs: 50, inProgressMs: 600_000 } });
    scratch = await mkdtemp(join(tmpdir(), 'cli-actions-'));
  });
  afterAll(async () => {
    await emulator?.close();
    await db?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** A pending batch log; with `atProvider`, of a batch the emulator really has. */
  async function pendingBatch(
    provider: 'openai' | 'anthropic' = 'openai',
    atProvider = false,
  ): Promise<number> {
    seeded += 1;
    let batchId = `batch_cli_actions_${seeded}`;
    if (atProvider) {
      const path = join(scratch, `input-${seeded}.jsonl`);
      await writeFile(
        path,
        `${JSON.stringify({ custom_id: 'rs-1', method: 'POST', url: CHAT_COMPLETIONS_URL, body: { model: 'gpt-4o-mini', messages: [] } })}\n`,
      );
      const openai = createOpenAIProvider({ apiKey: TEST_OPENAI_KEY, baseURL: emulator.baseUrl });
      batchId = (await openai.uploadAndCreateBatch({ inputPath: path, endpoint: CHAT_COMPLETIONS_URL })).id;
    }
    const { id } = await insertBatchLog(db.pool, {
      provider,
      batchId,
      model: 'gpt-4o-mini',
      totalSentences: 1,
      inputFileId: null,
      firstPollDelayMs: 3_600_000,
    });
    return id;
  }

  const audited = async (action: string, target: string) =>
    (
      await db.pool.query(
        'SELECT actor, outcome, method, route, details FROM audit_log WHERE action = $1 AND target = $2 ORDER BY id',
        [action, target],
      )
    ).rows;

  const batchRow = async (id: number) =>
    (
      await db.pool.query<{ polling_paused: boolean; poll_priority: number }>(
        'SELECT polling_paused, poll_priority FROM batch_jobs_vp_logs WHERE id = $1',
        [id],
      )
    ).rows[0]!;

  it('cancels a pending batch at its provider, audited as cli:<os user>', async () => {
    const id = await pendingBatch('openai', true);
    const outcome = await cli('cancel', String(id));
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(
      new RegExp(
        `^batch log ${id}\\tprovider batch \\S+\\tcancel requested \\(provider status cancelling\\)\\n$`,
      ),
    );
    expect(await audited('batch.cancel', String(id))).toEqual([
      { actor: ACTOR, outcome: 'started', method: 'CLI', route: 'batchline cancel', details: null },
      expect.objectContaining({
        actor: ACTOR,
        outcome: 'success',
        details: expect.objectContaining({ providerStatus: 'cancelling' }),
      }),
    ]);
  });

  it('refuses to cancel an unknown or final batch, and a bad id, in one line', async () => {
    expect(await cli('cancel', '999999')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'batchline: batch log 999999 does not exist (batch_not_found)\n',
    });
    const final = await pendingBatch();
    await db.pool.query(`UPDATE batch_jobs_vp_logs SET status = ${BatchStatus.completed} WHERE id = $1`, [
      final,
    ]);
    expect((await cli('cancel', String(final))).stderr).toBe(
      `batchline: batch log ${final} is final and cannot be cancelled (batch_final)\n`,
    );
    const bad = await cli('cancel', 'abc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'batchline: id must be a batch log id (a positive whole number) (invalid_parameter)\n',
    );
    expect((await cli('cancel')).code).toBe(2);
  });

  it('says which provider it cannot reach', async () => {
    const id = await pendingBatch('openai', true);
    const outcome = await runCli(
      ['cancel', String(id)],
      cliEnv(db.url, undefined, { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }),
    );
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(
      /^batchline: the provider's cancelBatch failed \(unavailable\) \(provider_unavailable\)\n$/,
    );
  });

  it('pauses and resumes one batch, a provider’s pending batches, or every status check', async () => {
    const one = await pendingBatch();
    const anthropic = await pendingBatch('anthropic');
    expect(await cli('pause', String(one))).toMatchObject({
      code: 0,
      stdout: `status checks paused for batch log ${one}\n`,
    });
    expect((await batchRow(one)).polling_paused).toBe(true);
    expect(await cli('resume', String(one))).toMatchObject({
      code: 0,
      stdout: `status checks resumed for batch log ${one}\n`,
    });
    expect((await batchRow(one)).polling_paused).toBe(false);

    const paused = await cli('pause', '--provider', 'anthropic');
    expect(paused).toMatchObject({
      code: 0,
      stdout: 'status checks paused for 1 pending anthropic batch(es)\n',
    });
    expect((await batchRow(anthropic)).polling_paused).toBe(true);
    expect((await batchRow(one)).polling_paused).toBe(false);
    expect(await audited('polling.pause', 'provider:anthropic')).toEqual([
      {
        actor: ACTOR,
        outcome: 'success',
        method: 'CLI',
        route: 'batchline pause',
        details: { batches: 1 },
      },
    ]);
    await cli('resume', '--provider', 'anthropic');
    expect((await batchRow(anthropic)).polling_paused).toBe(false);

    expect(await cli('pause')).toMatchObject({ code: 0, stdout: 'status checks paused for every batch\n' });
    const control = async () =>
      (await db.pool.query('SELECT paused, changed_by FROM polling_control')).rows[0];
    expect(await control()).toEqual({ paused: true, changed_by: ACTOR });
    expect(await cli('resume')).toMatchObject({ code: 0, stdout: 'status checks resumed for every batch\n' });
    expect((await control()).paused).toBe(false);
  });

  it('refuses a bad pause: unknown provider, id with --provider, final batch', async () => {
    expect((await cli('pause', '--provider', 'azure')).stderr).toBe(
      'batchline: unknown provider "azure" (use openai or anthropic)\n',
    );
    expect((await cli('pause', '1', '--provider', 'openai')).code).toBe(2);
    const final = await pendingBatch();
    await db.pool.query(`UPDATE batch_jobs_vp_logs SET status = ${BatchStatus.failed} WHERE id = $1`, [
      final,
    ]);
    expect(await cli('resume', String(final))).toEqual({
      code: 1,
      stdout: '',
      stderr: `batchline: batch log ${final} is final: resuming does not apply (batch_final)\n`,
    });
  });

  it('sets a priority as the API does, with the API’s bounds', async () => {
    const id = await pendingBatch();
    expect(await cli('priority', String(id), '-5')).toMatchObject({
      code: 0,
      stdout: `batch log ${id}\tpriority -5\n`,
    });
    expect((await batchRow(id)).poll_priority).toBe(-5);
    expect((await audited('batch.priority', String(id)))[0]).toMatchObject({
      actor: ACTOR,
      details: { priority: -5 },
    });
    for (const bad of ['101', '1.5', 'high']) {
      const refused = await cli('priority', String(id), bad);
      expect(refused.code, bad).toBe(2);
      expect(refused.stderr).toBe(
        'batchline: priority must be a whole number from -100 to 100 (invalid_field)\n',
      );
    }
    expect((await cli('priority', '999999', '1')).stderr).toBe(
      'batchline: batch log 999999 does not exist (batch_not_found)\n',
    );
  });

  it('explains itself with --help, and fails in one line when Postgres is unreachable', async () => {
    for (const command of ['cancel', 'pause', 'resume', 'priority']) {
      const help = await cli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`usage: batchline ${command}`);
    }
    const down = await runCli(['pause'], cliEnv('postgres://postgres@127.0.0.1:9/none'));
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^batchline: cannot reach Postgres at 127\.0\.0\.1:9\/none: .*\n$/);
  });
});
