// Verification after a change: probe the named health checks every 30 s for `verify.minutes` and
// judge them against the hour before the change (health/verification.ts). Migrate and rollback call it.
//
// It runs inside the job of the run it verifies rather than as follow-up jobs: the migrate queue is
// one job at a time per repository, so the next push waits for this verdict instead of migrating over
// a release that may be rolled back, and the run keeps its worker's liveness lock (no reaper hand-back
// between probes). While it watches, the job lends its worker to the queue (jobs/worker-lending.ts),
// so releases being verified never hold back other repositories' migrations.
import { setTimeout as sleep } from "node:timers/promises";
import { retryDelays, type HealthConfig } from "../config/health-config.js";
import { VERIFY_PROBE_NOMINAL_SECONDS, verifyProbeSeconds } from "../config/environment.js";
import type { VerifySettings } from "../config/verify-config.js";
import { probeConfiguredCheck } from "../health/configured-probe.js";
import { runAll, withRetries } from "../health/probe-runner.js";
import { baselineOf, judge, type Verification, type VerificationSample } from "../health/verification.js";
import type { RunbookDeps } from "./deps.js";
import { whileWaiting } from "../jobs/worker-lending.js";

export interface VerifyRequest {
  repo: string;
  environment: string;
  settings: VerifySettings;
  health: HealthConfig;
  /** When the change landed: the baseline is the hour before it. */
  changeAt: Date;
  /** A resumed run (its worker died while verifying) continues the window that began then, not a new one. */
  startedAt?: Date;
}

/** Probes until a regression or the end of the window; `progress` gets the Check Run's title as it goes. */
export async function verifyChange(deps: RunbookDeps, request: VerifyRequest, progress: (title: string) => Promise<void>): Promise<Verification> {
  const { repo, environment, settings, health, changeAt } = request;
  const probeMs = verifyProbeSeconds(deps.env) * 1000;
  const scale = probeMs / (VERIFY_PROBE_NOMINAL_SECONDS * 1000);
  const rounds = Math.max(1, Math.round((settings.minutes * 60) / VERIFY_PROBE_NOMINAL_SECONDS));
  const checks = health.checks.filter((c) => settings.checks.includes(c.name));
  const policy = { allowHosts: deps.serverConfig.health.allow_hosts };
  const delays = retryDelays(health).map((ms) => ms * scale);
  const baseline = await baselineOf(
    deps.db,
    repo,
    checks.map((c) => c.name),
    changeAt,
  );
  const samples: VerificationSample[] = [];
  const title = (round: number) => `Verifying ${environment} (${Math.floor((round * VERIFY_PROBE_NOMINAL_SECONDS) / 60)} of ${settings.minutes} min)…`;
  // Rounds of the window that passed before a resume; the samples they took died with their worker.
  const elapsed = request.startedAt ? Math.min(rounds - 1, Math.floor((Date.now() - request.startedAt.getTime()) / probeMs)) : 0;
  const probeRound = async () => {
    const results = await runAll(checks.map((check) => () => withRetries(() => probeConfiguredCheck(check, health, policy), delays)));
    samples.push(...results.map((r) => ({ check: r.check, status: r.status, latencyMs: r.latencyMs })));
    return judge(baseline, samples, health.degraded_ms);
  };
  return whileWaiting(async () => {
    let verdict = judge(baseline, samples, health.degraded_ms);
    for (let round = elapsed + 1; round <= rounds; round++) {
      await progress(title(round - 1));
      // The deploy hook has just been called: the first probe waits like every other one.
      await sleep(probeMs);
      verdict = await probeRound();
      if (verdict.regressed) return { ...verdict, environment, minutes: settings.minutes, probes: round };
    }
    return { ...verdict, environment, minutes: settings.minutes, probes: rounds };
  });
}
