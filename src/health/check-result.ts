// What one health check found. The HTTP and database probes return it, the heal runbook records it
// (store/health.ts adds the repository and the maintenance state) and incident issues quote it.

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

export interface CheckResult {
  check: string;
  kind: "http" | "database";
  status: HealthStatus;
  httpStatus?: number;
  error?: string;
  latencyMs: number;
  detail?: string;
  /** Probes made, counting retries of an unhealthy answer. */
  attempts: number;
}
