// "Did you mean …?" for a mistyped name (a command verb, a config key, a lint rule, an environment):
// the nearest candidate by edit distance, compared case-insensitively. Shared by the command parser
// and the config and lint checks, and so importing none of them.

/** The candidate (as given) nearest to `word` within `maxDistance` edits, if any; the first of equals. */
export function closest(word: string, candidates: Iterable<string>, maxDistance = 2): string | undefined {
  const wanted = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase(), maxDistance);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Levenshtein distance; past `limit` it may answer any larger number (the length difference alone rules a pair out). */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return Math.abs(a.length - b.length);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
