import { unitHash } from './random.ts';
import type { AnswerShares, AnswerSharesOption } from './types.ts';

/** What the emulator means a request's answer to be. */
export type AnswerIntent = 'valid' | 'invalid' | 'unknown_reference';

/** Which answers of a job type are spoiled: a pure function of the custom id, so a rerun spoils the same ones. */
export function answerIntent(
  jobTypeName: string,
  customId: string,
  shares: Required<AnswerShares>,
): AnswerIntent {
  if (shares.invalid === 0 && shares.unknownReference === 0) return 'valid';
  const draw = unitHash(`${jobTypeName}\u0000shares\u0000${customId}`);
  if (draw < shares.invalid) return 'invalid';
  return draw < shares.invalid + shares.unknownReference ? 'unknown_reference' : 'valid';
}

/** The shares in force for one job type: its own, else the overall ones, else none. */
export function sharesFor(
  option: AnswerSharesOption | undefined,
  jobTypeName: string,
): Required<AnswerShares> {
  const own = option?.byJobType?.[jobTypeName];
  return {
    invalid: own?.invalid ?? option?.invalid ?? 0,
    unknownReference: own?.unknownReference ?? option?.unknownReference ?? 0,
  };
}

/** Refuses shares outside [0, 1], adding up to more than 1, or for a job type not declared, naming the job type. */
export function checkAnswerShares(
  option: AnswerSharesOption | undefined,
  jobTypeNames?: readonly string[],
): void {
  if (!option) return;
  const undeclared = Object.keys(option.byJobType ?? {}).find(
    (name) => jobTypeNames && !jobTypeNames.includes(name),
  );
  if (undeclared !== undefined) {
    throw new RangeError(
      `answer shares name ${undeclared}, which is not a declared job type (${jobTypeNames!.join(', ')})`,
    );
  }
  const check = (shares: AnswerShares, where: string) => {
    for (const [name, share] of Object.entries({
      invalid: shares.invalid,
      unknownReference: shares.unknownReference,
    })) {
      if (share !== undefined && !(Number.isFinite(share) && share >= 0 && share <= 1)) {
        throw new RangeError(`answer share ${name}${where} must be a number from 0 to 1, got ${share}`);
      }
    }
  };
  check(option, '');
  for (const [name, shares] of Object.entries(option.byJobType ?? {})) {
    check(shares, ` of ${name}`);
    const total = sharesFor(option, name);
    if (total.invalid + total.unknownReference > 1) {
      throw new RangeError(`answer shares of ${name} add up to more than 1`);
    }
  }
  if ((option.invalid ?? 0) + (option.unknownReference ?? 0) > 1) {
    throw new RangeError('answer shares add up to more than 1');
  }
}

/**
 * The shares of the `emulator` command's `--invalid-share` and `--unknown-share`, each `0.05` for every job type,
 * `review_sentiment=0.2` for one, or a comma-separated mix (`0.05,review_sentiment=0.2`); checked.
 */
export function parseAnswerShares(
  texts: { invalid?: string; unknownReference?: string },
  jobTypeNames?: readonly string[],
): AnswerSharesOption {
  const option: AnswerSharesOption = {};
  const byJobType: Record<string, AnswerShares> = {};
  for (const kind of ['invalid', 'unknownReference'] as const) {
    const text = texts[kind];
    if (text === undefined) continue;
    for (const part of text.split(',').map((p) => p.trim())) {
      const match = /^(?:([a-z][a-z0-9_]*)=)?(\d+(?:\.\d+)?|\.\d+)$/.exec(part);
      if (!match) throw new RangeError(`"${part}" is not a share: write 0.05 or job_type=0.05 (from 0 to 1)`);
      const share = Number(match[2]);
      if (match[1] === undefined) option[kind] = share;
      else byJobType[match[1]] = { ...byJobType[match[1]], [kind]: share };
    }
  }
  if (Object.keys(byJobType).length > 0) option.byJobType = byJobType;
  checkAnswerShares(option, jobTypeNames);
  return option;
}
