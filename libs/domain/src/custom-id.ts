const CUSTOM_ID = /^rs-([1-9][0-9]{0,15})$/;

/** `rs-<review_sentence_id>` → the id, or null when the custom_id is not of that form (docs/interface.md §4). */
export function parseCustomId(customId: string): number | null {
  const match = CUSTOM_ID.exec(customId);
  if (!match) return null;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : null;
}

export const customIdFor = (reviewSentenceId: number): string => `rs-${reviewSentenceId}`;
