// Synthetic health histories for the analytics tests: 5-minute samples with seeded noise, so a test
// that injects an anomaly or a trend is reproducible to the sample.
import type pg from "pg";

export const FIVE_MINUTES_MS = 5 * 60_000;
const HOUR_MS = 3_600_000;

/** mulberry32: a small seeded PRNG, good enough for test noise. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) from a uniform source. */
export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export interface Sample {
  repo: string;
  check: string;
  at: Date;
  status: "healthy" | "degraded" | "unhealthy" | "maintenance";
  latencyMs: number | null;
}

export interface HistorySpec {
  repo: string;
  check: string;
  now: Date;
  days: number;
  seed: number;
  /** Expected latency (ms) of a sample taken `hoursAgo` before now. */
  latencyMs?: (hoursAgo: number) => number;
  /** Standard deviation of the latency noise (ms). */
  noiseMs?: number;
  /** Probability that a sample taken `hoursAgo` before now fails. */
  errorRate?: (hoursAgo: number) => number;
}

/** One sample every 5 minutes for `days` days, the latest 37 s before `now` (never on a bucket edge). */
export function history(spec: HistorySpec): Sample[] {
  const random = seededRandom(spec.seed);
  const normal = gaussian(random);
  const latency = spec.latencyMs ?? (() => 200);
  const errorRate = spec.errorRate ?? (() => 0);
  const noise = spec.noiseMs ?? 20;
  const samples: Sample[] = [];
  const count = spec.days * 288;
  for (let k = count - 1; k >= 0; k--) {
    const at = new Date(spec.now.getTime() - 37_000 - k * FIVE_MINUTES_MS);
    const hoursAgo = (spec.now.getTime() - at.getTime()) / HOUR_MS;
    const failed = random() < errorRate(hoursAgo);
    const latencyMs = Math.max(1, Math.round(latency(hoursAgo) + noise * normal()));
    samples.push({ repo: spec.repo, check: spec.check, at, status: failed ? "unhealthy" : "healthy", latencyMs });
  }
  return samples;
}

export async function insertSamples(db: Pick<pg.Pool, "query">, samples: Sample[]): Promise<void> {
  const chunk = 20_000;
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    await db.query(
      `insert into health_log (repo, check_name, kind, status, latency_ms, at)
       select repo, check_name, 'http', status, latency_ms, at
         from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[]) as s(repo, check_name, status, latency_ms, at)`,
      [part.map((s) => s.repo), part.map((s) => s.check), part.map((s) => s.status), part.map((s) => s.latencyMs), part.map((s) => s.at)],
    );
  }
}

/** A successful migrate run that applied `versions` and finished at `finishedAt`. */
export async function insertMigrationRun(
  db: Pick<pg.Pool, "query">,
  run: { repo: string; environment?: string; commitSha: string; finishedAt: Date; versions?: string[]; status?: string; startedAt?: Date },
): Promise<number> {
  const startedAt = run.startedAt ?? new Date(run.finishedAt.getTime() - 30_000);
  const { rows } = await db.query(
    `insert into runs (kind, trigger, repo, installation_id, environment, commit_sha, status, created_at, started_at, finished_at)
     values ('migrate', 'push', $1, 1, $2, $3, $4, $5, $5, $6) returning id`,
    [run.repo, run.environment ?? "production", run.commitSha, run.status ?? "success", startedAt, run.finishedAt],
  );
  const id = Number(rows[0].id);
  for (const version of run.versions ?? []) {
    await db.query(`insert into run_migrations (run_id, version, name, path) values ($1, $2, 'change', $3)`, [id, version, `migrations/${version}_change.sql`]);
  }
  return id;
}

export async function insertDeployment(
  db: Pick<pg.Pool, "query">,
  deployment: { repo: string; environment?: string; at: Date; ok?: boolean; durationMs?: number },
): Promise<void> {
  await db.query(
    `insert into deployments (repo, environment, hook, ok, http_status, duration_ms, created_at) values ($1, $2, 'deploy_hook', $3, 200, $4, $5)`,
    [deployment.repo, deployment.environment ?? "production", deployment.ok ?? true, deployment.durationMs ?? 800, deployment.at],
  );
}
