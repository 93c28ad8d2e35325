// Start-up housekeeping: scratch databases that a crashed rehearsal left on a shadow server.
import { dropLeftoverScratchDatabases } from "../database/scratch-databases.js";
import { processEnvironment } from "../config/environment.js";
import type { ServerConfig } from "../config/server-config.js";
import type { Logger } from "../logger.js";

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
