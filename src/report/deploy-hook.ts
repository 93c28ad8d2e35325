// The target's deploy hook (a Netlify build hook or any URL): POSTed after a successful migration.
import { redact } from "../redact.js";

export interface DeployHookResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

export async function triggerDeployHook(url: string, payload: Record<string, unknown>, timeoutMs = 10_000): Promise<DeployHookResult> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "autopilot" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    const ok = response.ok;
    return { ok, httpStatus: response.status, error: ok ? null : `HTTP ${response.status}`, durationMs: performance.now() - started };
  } catch (error) {
    return { ok: false, httpStatus: null, error: redact((error as Error).message), durationMs: performance.now() - started };
  }
}
