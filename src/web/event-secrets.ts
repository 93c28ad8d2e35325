// Which secrets may sign POST /autopilot/events for a repository: the events secrets of its targets
// in the server config and, for a repository the server config lists, the global AUTOPILOT_SECRET.
// A repository the server config does not list takes no events at all.
import type { ServerConfig } from "../config/server-config.js";
import type { Logger } from "../logger.js";
import type { EventSecrets } from "./events.js";

export function eventSecrets(
  config: ServerConfig,
  env: NodeJS.ProcessEnv,
  globalSecret: string | undefined,
  log?: Logger,
): { secretsFor: EventSecrets; enabled: boolean } {
  const byRepo = new Map<string, string[]>();
  for (const [index, target] of config.targets.entries()) {
    const repo = target.repo.toLowerCase();
    const secrets = byRepo.get(repo) ?? [];
    byRepo.set(repo, secrets);
    if (!target.events_secret_env) continue;
    const secret = env[target.events_secret_env];
    if (secret) secrets.push(secret);
    else
      log?.warn(
        `server config targets[${index}].events_secret_env names ${target.events_secret_env}, which is not set: ${target.repo} takes no events signed with it`,
      );
  }
  if (globalSecret) for (const secrets of byRepo.values()) secrets.push(globalSecret);
  const enabled = [...byRepo.values()].some((secrets) => secrets.length > 0);
  return { secretsFor: (repo) => byRepo.get(repo.toLowerCase()) ?? [], enabled };
}
