// What every runbook is handed: the store, the operator's config and a way to reach GitHub.
import type pg from "pg";
import type { ServerConfig } from "../config/server-config.js";
import type { Logger } from "../logger.js";
import type { GitHubClient } from "../report/octokit.js";

export interface RunbookDeps {
  db: pg.Pool;
  serverConfig: ServerConfig;
  github(installationId: number): Promise<GitHubClient>;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

export interface Attempt {
  /** 1-based number of this attempt. */
  number: number;
  /** Attempts in all, including this one. */
  limit: number;
}

export const isLastAttempt = (a: Attempt) => a.number >= a.limit;
