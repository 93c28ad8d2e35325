// Housekeeping: at start-up, scratch databases that a crashed rehearsal left on a shadow server; then
// every minute, the health log rolled up into hourly and daily aggregates and the store pruned to its
// retention (each by one replica at a time, through an advisory lock).
import type pg from "pg";
import { dropLeftoverScratchDatabases } from "../database/scratch-databases.js";
import { processEnvironment } from "../config/environment.js";
import type { ServerConfig } from "../config/server-config.js";
import type { Logger } from "../logger.js";
import { rollUpHealth } from "../store/health-rollups.js";
import { pruneStore, type StoreRetention } from "../store/store-retention.js";
import { repeatEvery } from "./repeat.js";

export async function dropLeftoverRehearsals(config: ServerConfig, log: Logger, env: NodeJS.ProcessEnv = processEnvironment()): Promise<void> {
  const shadows = new Set(config.targets.map((t) => (t.shadow_database_url_env ? env[t.shadow_database_url_env] : undefined)).filter(Boolean) as string[]);
  for (const shadow of shadows) {
    try {
      const dropped = await dropLeftoverScratchDatabases(shadow);
      if (dropped.length) log.info({ dropped }, "dropped scratch databases left by an interrupted rehearsal");
    } catch (error) {
      log.warn({ err: error }, "could not clean up scratch databases on a shadow server");
    }
  }
}

export function storeRetentionOf(config: ServerConfig): StoreRetention {
  const { raw_days, days, keep_audit } = config.store.retention;
  return { rawDays: raw_days, days, keepAudit: keep_audit };
}

/** One housekeeping step: roll up closed hours first, so pruning never removes a sample not yet rolled up. */
export async function housekeep(db: pg.Pool, retention: StoreRetention, log: Logger, now: Date = new Date()): Promise<void> {
  const rolled = await rollUpHealth(db, now);
  if (rolled?.hours) log.debug({ hours: rolled.hours, days: rolled.days }, "health log rolled up");
  const pruned = await pruneStore(db, retention, { now });
  const total = Object.values(pruned ?? {}).reduce((a, b) => a + b, 0);
  if (total) log.info({ pruned }, "store pruned to its retention");
}

/** Runs `housekeep` every `everySeconds` (and once at start); returns the function that stops it. */
export function startHousekeeping(db: pg.Pool, retention: StoreRetention, log: Logger, everySeconds = 60): () => Promise<void> {
  return repeatEvery(
    everySeconds,
    () => housekeep(db, retention, log),
    (error) => log.warn({ err: error }, "store housekeeping failed; trying again later"),
  );
}
