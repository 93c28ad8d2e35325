// The target's deploy hook (a Netlify build hook or any URL): POSTed after a successful migration
// or rollback. A failed call is retried (AUTOPILOT_DEPLOY_HOOK_RETRY_SECONDS) before it counts as
// failed, and every call goes through the hook's circuit breaker: a hook that keeps failing is
// skipped, not called again on every event.
import { setTimeout as sleep } from "node:timers/promises";
import { BreakerOpen, destinationOf, throughBreaker } from "../breakers.js";
import { deployHookRetryDelaysMs } from "../config/environment.js";
import { redact } from "../redact.js";

export interface DeployHookResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  /** Calls made (1 when the first answered well). */
  attempts: number;
  /** True when the hook's circuit breaker was open and the (next) call was not made. */
  skipped: boolean;
}

export interface DeployHookOptions {
  /** Waits before each retry; the default is the environment's (the heal cycle, which repeats anyway, passes none). */
  retryDelaysMs?: number[];
  timeoutMs?: number;
}

export async function triggerDeployHook(url: string, payload: Record<string, unknown>, options: DeployHookOptions = {}): Promise<DeployHookResult> {
  const delays = options.retryDelaysMs ?? deployHookRetryDelaysMs();
  const started = performance.now();
  let last: Omit<DeployHookResult, "durationMs" | "attempts" | "skipped"> = { ok: false, httpStatus: null, error: null };
  let attempts = 0;
  for (const delay of [0, ...delays]) {
    if (delay) await sleep(delay);
    try {
      last = await throughBreaker(
        destinationOf("deploy-hook", url),
        () => post(url, payload, options.timeoutMs ?? 10_000),
        (r) => r.error ?? undefined,
      );
    } catch (error) {
      if (!(error instanceof BreakerOpen)) throw error;
      return { ok: false, httpStatus: null, error: error.message, durationMs: performance.now() - started, attempts, skipped: true };
    }
    attempts += 1;
    if (last.ok) break;
  }
  return { ...last, durationMs: performance.now() - started, attempts, skipped: false };
}

async function post(url: string, payload: Record<string, unknown>, timeoutMs: number) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "autopilot" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return { ok: response.ok, httpStatus: response.status, error: response.ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, httpStatus: null, error: redact((error as Error).message) };
  }
}
