// `npm start`: validate the environment and server config, open the store (a local cluster when
// DATABASE_URL is unset), then hand over to Probot — which serves its setup wizard when the app
// has no credentials yet.
import { run } from "probot";
import { processEnvironment, readEnvironment } from "./config/environment.js";
import { backupEnvironmentProblems, backupSecretValues } from "./config/backup-config.js";
import { loadServerConfig } from "./config/server-config.js";
import { ConfigError } from "./config/yaml-errors.js";
import { autopilotApp } from "./index.js";
import { createLogger } from "./logger.js";
import { registerEnvironmentSecrets, registerSecret } from "./redact.js";
import { openStore, resolveStoreUrl } from "./store/store.js";

const log = createLogger();

async function main(): Promise<void> {
  const env = readEnvironment();
  const serverConfig = await loadServerConfig(env.AUTOPILOT_SERVER_CONFIG);
  registerSecrets(serverConfig);
  // Every store credential and key the backups name must be there now, not at the first migration.
  const backupProblems = backupEnvironmentProblems(env.AUTOPILOT_SERVER_CONFIG, serverConfig);
  if (backupProblems.length) throw new ConfigError(env.AUTOPILOT_SERVER_CONFIG, backupProblems);
  const { url, stop: stopCluster } = await resolveStoreUrl(env.DATABASE_URL, env.AUTOPILOT_DATA_DIR);
  registerSecret(url);
  const store = await openStore(url, { poolSize: env.AUTOPILOT_STORE_POOL_SIZE });
  log.info({ targets: serverConfig.targets.length }, "store ready");

  const stops: Array<() => Promise<void>> = [];
  const server = await run(autopilotApp({ store, serverConfig, env, log, onStop: (s) => stops.push(s) }), { log });
  const shutdown = async () => {
    await server.stop().catch(() => undefined);
    for (const stop of stops) await stop().catch(() => undefined);
    await store.close();
    await stopCluster?.();
    process.exit(0);
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

/** Every value the server config points at is a secret from now on. */
function registerSecrets(config: Awaited<ReturnType<typeof loadServerConfig>>): void {
  for (const target of config.targets) {
    for (const name of [target.database_url_env, target.shadow_database_url_env, target.deploy_hook_env, target.slack_webhook_env, target.events_secret_env]) {
      if (name) registerSecret(processEnvironment()[name]);
    }
  }
  for (const value of backupSecretValues(config)) registerSecret(value);
  registerEnvironmentSecrets();
}

main().catch((error) => {
  // A bad config is the operator's to fix: its problems, one a line, not a stack trace.
  if (error instanceof ConfigError) log.fatal(`Autopilot could not start: ${error.message}`);
  else log.fatal({ err: error }, "Autopilot could not start");
  process.exit(1);
});
