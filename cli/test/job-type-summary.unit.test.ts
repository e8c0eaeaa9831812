import { describe, expect, it } from 'vitest';
import { formatFailedByCode, summaryRow } from '../src/demo/job-type-summary.ts';

describe('formatFailedByCode', () => {
  it('lists codes most frequent first, ties by name', () => {
    expect(formatFailedByCode({ http_500: 9, invalid_content: 20, missing_result: 9 })).toBe(
      'invalid_content 20, http_500 9, missing_result 9',
    );
  });

  it('says none when nothing failed', () => {
    expect(formatFailedByCode({})).toBe('none');
  });
});

describe('summaryRow', () => {
  it('puts the figures in the order of the table headers, seconds to a tenth', () => {
    expect(
      summaryRow({
        jobType: 'review_sentiment',
        batches: 2,
        requests: 4000,
        rowsLanded: 3900,
        failedByCode: { unknown_label: 100 },
        seconds: 9.06,
      }),
    ).toEqual(['review_sentiment', 2, 4000, 3900, 'unknown_label 100', '9.1']);
  });
});
