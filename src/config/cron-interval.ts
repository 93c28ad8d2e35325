// How often a node-cron expression can fire: the shortest gap between two consecutive firings, so a
// schedule like "0,5 * * * * *" (twice a minute, but 5 s apart) is judged by its tightest gap, not
// by its average rate.
import cron from "node-cron";

const SECONDS_PER_DAY = 86_400;

/**
 * The shortest interval in seconds between two consecutive firings of a valid expression. Days are
 * assumed to follow each other (the day, month and weekday fields only ever lengthen the gaps), so
 * the gap across midnight counts too: a lower bound, which is what a floor needs.
 */
export function shortestCronIntervalSeconds(expression: string): number {
  const { second, minute, hour } = cron.parse(expression);
  const times: number[] = [];
  for (const h of hour) for (const m of minute) for (const s of second) times.push(h * 3600 + m * 60 + s);
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  let shortest = sorted[0] + SECONDS_PER_DAY - sorted[sorted.length - 1];
  for (let i = 1; i < sorted.length; i++) shortest = Math.min(shortest, sorted[i] - sorted[i - 1]);
  return shortest;
}
