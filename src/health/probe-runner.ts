// How probes are run: a failed probe is tried again after a pause (a blip is not an outage), and a
// cycle runs many probes at once but not unboundedly many (sockets, file descriptors, the target).
import { setTimeout as sleep } from "node:timers/promises";
import type { CheckResult } from "./check-result.js";

export const DEFAULT_RETRY_DELAYS_MS = [2000, 5000];
export const DEFAULT_CONCURRENCY = 64;

/**
 * Runs `attempt` until it is not unhealthy, at most `delaysMs.length` more times, waiting
 * `delaysMs[i]` before retry i. The result is the last attempt's, with `attempts` counting the
 * probes made. An attempt that made none (its circuit breaker is open) ends the retries: the next
 * ones would be skipped as well, after waiting for nothing.
 */
export async function withRetries(attempt: () => Promise<CheckResult>, delaysMs: number[] = DEFAULT_RETRY_DELAYS_MS): Promise<CheckResult> {
  let result = await attempt();
  let attempts = result.attempts;
  for (const delay of delaysMs) {
    if (result.status !== "unhealthy" || result.attempts === 0) break;
    await sleep(delay);
    result = await attempt();
    attempts += result.attempts;
  }
  return { ...result, attempts };
}

/**
 * Runs the tasks with at most `concurrency` in flight; results keep the tasks' order. A task that
 * throws rejects the whole run once the tasks already started have settled (no new one starts).
 */
export async function runAll<T>(tasks: Array<() => Promise<T>>, concurrency = DEFAULT_CONCURRENCY): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < tasks.length && !failure) {
      const index = next++;
      try {
        results[index] = await tasks[index]();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(concurrency) || 1, tasks.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return results;
}
