// GitHub's hard limits on what it accepts, and the one way we cut text to fit them.
export const CHECK_SUMMARY_LIMIT = 65_535;
export const CHECK_TEXT_LIMIT = 65_535;
export const CHECK_TITLE_LIMIT = 255;
export const ANNOTATIONS_PER_REQUEST = 50;
export const COMMENT_LIMIT = 65_536;

/** Cuts `text` to `limit` characters, ending with a pointer to where the rest can be read. */
export function truncate(text: string, limit: number, pointer = "the full report is in Autopilot's run history"): string {
  if (text.length <= limit) return text;
  const note = `\n\n… truncated: ${pointer}.`;
  return text.slice(0, limit - note.length) + note;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
