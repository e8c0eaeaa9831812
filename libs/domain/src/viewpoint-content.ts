import { ResultErrorCode } from './result-record.ts';

/**
 * The check of today's `specific_viewpoint` answers, from before job types; the emulator still classifies with it.
 * Result lines are checked by the batch's job type (`JobType.checkAnswer`) instead.
 */

export type ViewpointContentCheck =
  | { ok: true; viewpointIds: number[] }
  | { ok: false; code: string; message: string };

const MAX_VIEWPOINTS_PER_LINE = 1000;

/**
 * Validates model output of the form `{"viewpoint_ids": [<integer>, ...]}` against the catalogue. Duplicated ids
 * count once. A line with any unknown id lands none of its ids.
 */
export function checkViewpointContent(
  content: unknown,
  isKnownViewpoint: (id: number) => boolean,
): ViewpointContentCheck {
  const invalid = (message: string): ViewpointContentCheck => ({
    ok: false,
    code: ResultErrorCode.invalidContent,
    message,
  });
  if (typeof content !== 'string') return invalid('message content is not a string');
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return invalid('message content is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return invalid('message content is not a JSON object');
  }
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || keys[0] !== 'viewpoint_ids') {
    return invalid(`expected exactly the key "viewpoint_ids", got ${JSON.stringify(keys.slice(0, 5))}`);
  }
  const ids = (parsed as { viewpoint_ids: unknown }).viewpoint_ids;
  if (!Array.isArray(ids)) return invalid('"viewpoint_ids" is not an array');
  if (ids.length > MAX_VIEWPOINTS_PER_LINE) return invalid(`"viewpoint_ids" has ${ids.length} entries`);
  const unique = new Set<number>();
  for (const [index, id] of ids.entries()) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
      return invalid(
        `"viewpoint_ids"[${index}] is not a positive integer: ${JSON.stringify(id)}`.slice(0, 200),
      );
    }
    unique.add(id);
  }
  const unknown = [...unique].filter((id) => !isKnownViewpoint(id));
  if (unknown.length > 0) {
    return {
      ok: false,
      code: ResultErrorCode.unknownViewpoint,
      message: `viewpoint ids not in wl_spec_vps: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''}`,
    };
  }
  return { ok: true, viewpointIds: [...unique] };
}
