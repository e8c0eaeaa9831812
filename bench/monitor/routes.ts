/** The monitor bench's routes: every read route of the admin API (and the operational ones), each with what it must answer. */
import { errorCodeOf, LARGE_BATCH_REQUESTS, MonitorSeed, type SeedBatch } from './seed.ts';

export type Check = (body: string) => string | null;

export interface Route {
  /** What is read, as the table names it. */
  name: string;
  path: string;
  /** What the goal is applied to: the whole answer, or the first byte of a streamed export. */
  goalOn: 'total' | 'first byte';
  /** Why the answer is wrong, or null. */
  check: Check;
  /** Operational routes take no token and are not audited. */
  auth?: false;
}

/** Checks of a JSON answer: each named field (a dotted path under `data`) must hold the value given. */
const fields =
  (expected: Record<string, unknown>): Check =>
  (body) => {
    const data = (JSON.parse(body) as { data: unknown }).data;
    for (const [path, value] of Object.entries(expected)) {
      const found = path
        .split('.')
        .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], data);
      if (found !== value)
        return `${path} is ${JSON.stringify(found)}, the seed says ${JSON.stringify(value)}`;
    }
    return null;
  };

const lineCount =
  (expected: number): Check =>
  (body) => {
    const lines = body.split('\n').filter((line) => line.length > 0).length;
    return lines === expected ? null : `${lines} lines, the seed says ${expected}`;
  };

const anyAnswer: Check = () => null;

/** The request outcomes of a scope, one per review sentence: succeeded if any round succeeded. */
function outcomesOf(batches: readonly SeedBatch[]) {
  const byRequest = new Map<number, { failed: boolean; code: string | null }>();
  for (const batch of batches) {
    if (batch.running) continue;
    for (let i = 1; i <= batch.requests; i++) {
      const sentence = batch.sentenceOf(i);
      const failed = batch.failedAt(i);
      const before = byRequest.get(sentence);
      if (before && !before.failed) continue;
      byRequest.set(sentence, {
        failed,
        code: failed ? errorCodeOf(i) : null,
      });
    }
  }
  const all = [...byRequest.values()];
  return {
    total: all.length,
    failed: all.filter((outcome) => outcome.failed).length,
    serverErrors: all.filter((outcome) => outcome.code === 'server_error').length,
  };
}

/** The first batch at or after the middle of the seed that `fits`. */
function middle(seed: MonitorSeed, fits: (g: number) => boolean): number {
  for (let g = Math.floor(seed.batches / 2); g <= seed.batches; g++) if (fits(g)) return g;
  throw new Error('no such batch in the seed');
}

/** Every read route, with realistic parameters, and what each must answer at this seed. */
export function routes(seed: MonitorSeed): Route[] {
  let requestsIn30d = 0;
  for (let g = 1; g <= seed.batches; g++) requestsIn30d += seed.batchOf(g).requests;
  const batch = seed.batchOf(middle(seed, (g) => g % 100 === 3));
  const running = seed.batchOf(middle(seed, (g) => g % 100 === 0));
  const large = seed.batchOf(middle(seed, (g) => seed.batchOf(g).requests === LARGE_BATCH_REQUESTS));
  const firstPart = seed.batchOf(middle(seed, (g) => g % 10 === 1 && g % 100 !== 1));
  const twoParts = [firstPart, seed.batchOf(firstPart.id + 1)];
  const retried = middle(seed, (g) => seed.isRetry(g + 1));
  const retryJob = [seed.batchOf(retried), seed.batchOf(retried + 1)];
  const batchOutcomes = outcomesOf([batch]);
  const largeOutcomes = outcomesOf([large]);
  const retryOutcomes = outcomesOf(retryJob);
  const twoPartOutcomes = outcomesOf(twoParts);
  const m = '/api/admin/batch-monitoring';
  const detail = (batches: readonly SeedBatch[]) => {
    const figures = MonitorSeed.jobFigures(batches);
    return fields({
      'figures.totalRequests': figures.totalRequests,
      'figures.succeededRequests': figures.succeededRequests,
      'figures.failedRequests': figures.failedRequests,
      'figures.batches': batches.length,
    });
  };
  const page = (total: number, limit: number, pageNumber: number) =>
    fields({
      'pagination.total': total,
      'pagination.page': pageNumber,
      'requests.length': Math.max(0, Math.min(limit, total - (pageNumber - 1) * limit)),
    });
  const deepPage = Math.floor(LARGE_BATCH_REQUESTS / 100 / 2);
  return [
    {
      name: 'monitoring 30d, details (the issue’s goal)',
      path: `${m}?timeRange=30d&includeDetails=true`,
      goalOn: 'total',
      check: fields({
        'summary.totalJobs': seed.batches,
        'summary.totalRequests': requestsIn30d,
        'pagination.total': seed.batches,
      }),
    },
    {
      name: 'monitoring 24h, details',
      path: `${m}?timeRange=24h&includeDetails=true`,
      goalOn: 'total',
      check: anyAnswer,
    },
    {
      name: 'monitoring 30d, failed, 100 a page',
      path: `${m}?timeRange=30d&includeDetails=true&status=failed&limit=100`,
      goalOn: 'total',
      check: anyAnswer,
    },
    {
      name: 'monitoring 30d, processing',
      path: `${m}?timeRange=30d&status=processing`,
      goalOn: 'total',
      check: anyAnswer,
    },
    {
      name: 'monitoring 7d, one job type, page 20',
      path: `${m}?timeRange=7d&jobType=sentiment&page=20`,
      goalOn: 'total',
      check: anyAnswer,
    },
    { name: 'alerts and rules', path: `${m}/alerts`, goalOn: 'total', check: anyAnswer },
    { name: 'batch detail', path: `${m}/${batch.id}`, goalOn: 'total', check: detail([batch]) },
    { name: 'running batch detail', path: `${m}/${running.id}`, goalOn: 'total', check: detail([running]) },
    {
      name: 'large batch detail (50,000)',
      path: `${m}/${large.id}`,
      goalOn: 'total',
      check: detail([large]),
    },
    {
      name: 'job detail (two parts)',
      path: `${m}/job-${firstPart.jobId}`,
      goalOn: 'total',
      check: detail(twoParts),
    },
    {
      name: 'job detail (retry round)',
      path: `${m}/job-${retried}`,
      goalOn: 'total',
      check: detail(retryJob),
    },
    {
      name: 'batch requests, page 1',
      path: `${m}/${batch.id}/requests`,
      goalOn: 'total',
      check: page(batchOutcomes.total, 50, 1),
    },
    {
      name: 'large batch requests, page 1 of 100',
      path: `${m}/${large.id}/requests?limit=100`,
      goalOn: 'total',
      check: page(largeOutcomes.total, 100, 1),
    },
    {
      name: `large batch requests, page ${deepPage} of 100`,
      path: `${m}/${large.id}/requests?limit=100&page=${deepPage}`,
      goalOn: 'total',
      check: page(largeOutcomes.total, 100, deepPage),
    },
    {
      name: 'large batch requests, failed',
      path: `${m}/${large.id}/requests?outcome=failed`,
      goalOn: 'total',
      check: page(largeOutcomes.failed, 50, 1),
    },
    {
      name: 'large batch requests, one error code',
      path: `${m}/${large.id}/requests?errorCode=server_error&page=2`,
      goalOn: 'total',
      check: page(largeOutcomes.serverErrors, 50, 2),
    },
    {
      name: 'job requests (two parts), page 2',
      path: `${m}/job-${firstPart.jobId}/requests?page=2`,
      goalOn: 'total',
      check: page(twoPartOutcomes.total, 50, 2),
    },
    {
      name: 'job requests (retry round), failed',
      path: `${m}/job-${retried}/requests?outcome=failed`,
      goalOn: 'total',
      check: page(retryOutcomes.failed, 50, 1),
    },
    {
      name: 'export batch outcomes, csv',
      path: `${m}/${batch.id}/export?what=outcomes&format=csv`,
      goalOn: 'total',
      check: lineCount(batchOutcomes.total + 1),
    },
    {
      name: 'export job outcomes (retry round), jsonl',
      path: `${m}/job-${retried}/export?what=outcomes&format=jsonl`,
      goalOn: 'total',
      check: lineCount(retryOutcomes.total),
    },
    {
      name: 'export batch rows, csv',
      path: `${m}/${batch.id}/export?what=rows&format=csv`,
      goalOn: 'total',
      // The target table is not seeded (the outcomes are): the header alone.
      check: lineCount(1),
    },
    {
      name: 'export batch raw answers, jsonl',
      path: `${m}/${batch.id}/export?what=answers&format=jsonl`,
      goalOn: 'total',
      check: lineCount(0),
    },
    {
      name: 'export large batch outcomes, csv',
      path: `${m}/${large.id}/export?what=outcomes&format=csv`,
      goalOn: 'first byte',
      check: lineCount(largeOutcomes.total + 1),
    },
    { name: 'metrics (no token)', path: '/metrics', goalOn: 'total', check: anyAnswer, auth: false },
    { name: 'readiness (no token)', path: '/readyz', goalOn: 'total', check: anyAnswer, auth: false },
  ];
}
