// One HTTP check of the repo's health section, probed as the monitor probes it: a URL the SSRF
// guard refuses is a config error, reported as the check being unhealthy; any other goes through
// its host's circuit breaker (the heal cycle and verification alike).
import { expectedStatus, type HealthCheckConfig, type HealthConfig } from "../config/health-config.js";
import type { CheckResult } from "./check-result.js";
import { probeHttpThroughBreaker } from "./http-probe.js";
import { checkUrlStatically, type SsrfPolicy } from "./ssrf.js";

export function probeConfiguredCheck(check: HealthCheckConfig, health: HealthConfig, policy: SsrfPolicy): Promise<CheckResult> {
  const refused = checkUrlStatically(check.url, policy);
  if (refused) return Promise.resolve({ check: check.name, kind: "http", status: "unhealthy", error: `config error: ${refused}`, latencyMs: 0, attempts: 1 });
  return probeHttpThroughBreaker(
    {
      name: check.name,
      url: check.url,
      method: check.method,
      expectStatus: expectedStatus(check),
      bodyContains: check.body_contains,
      timeoutMs: check.timeout_ms,
    },
    { policy, degradedMs: health.degraded_ms },
  );
}
