// A fleet of installed repositories for `npm run drill:load`: N repositories on the fake GitHub (spread
// over a few installations), each with a `.github/autopilot.yml` binding production to a database of
// its own on the throw-away test cluster and a `health` section probing one local HTTP server (one path
// per repository), plus the app's store and the server config that binds it all. Apps (replicas) are
// started on demand, all on the same store.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { FakeGitHub } from "./fake-github.js";
import { APP_PRIVATE_KEY, startApp, type AppOptions, type RunningApp } from "./app-process.js";
import { createTestDatabase, testServerUrl, withDatabase, type TestDatabase } from "./postgres.js";
import { bigIdFor } from "./big-ids.js";

export interface FleetOptions {
  repos: number;
  /** Repositories are spread evenly over this many installations (organisations). */
  installations: number;
  /** Every repository's `health.schedule`. */
  healthSchedule: string;
  /** Databases created at once (each a file copy of template1, ~7 MB). */
  createParallelism?: number;
}

export interface FleetRepo {
  fullName: string;
  owner: string;
  name: string;
  /** GitHub's id of the repository, the same in the fake and in every payload. */
  id: number;
  installationId: number;
  /** The production target's database name on the test cluster. */
  database: string;
  databaseUrl: string;
  /** The files of the default branch's head. */
  mainFiles: Record<string, string>;
  /** The default branch's head. */
  head: string;
}

export const FIRST_MIGRATION = "migrations/0001_init.sql";
const FIRST_INSTALLATION_ID = 2 ** 32 + 1000;

/** One HTTP server answering every repository's health check (`/r/<index>/health`), counting the probes. */
export class HealthServer {
  readonly hits = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<HealthServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const health = new HealthServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on("request", (req, res) => {
      const path = req.url ?? "/";
      health.hits.set(path, (health.hits.get(path) ?? 0) + 1);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    return health;
  }

  get probes(): number {
    let n = 0;
    for (const count of this.hits.values()) n += count;
    return n;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class Fleet {
  private constructor(
    readonly github: FakeGitHub,
    readonly store: TestDatabase,
    readonly health: HealthServer,
    readonly repos: FleetRepo[],
    private readonly adminUrl: string,
  ) {}

  static async start(options: FleetOptions): Promise<Fleet> {
    if (!Number.isInteger(options.repos) || options.repos < 1) throw new Error(`repos: must be a whole number ≥ 1, got ${options.repos}`);
    const github = await FakeGitHub.start({ privateKey: APP_PRIVATE_KEY });
    const health = await HealthServer.start();
    const adminUrl = await testServerUrl();
    const store = await createTestDatabase("drill_store");
    const stamp = `${process.pid}_${Date.now().toString(36)}`;
    const repos: FleetRepo[] = [];
    for (let i = 0; i < options.repos; i++) {
      const owner = `org${String(i % options.installations).padStart(2, "0")}`;
      const name = `service-${String(i).padStart(4, "0")}`;
      const fullName = `${owner}/${name}`;
      const database = `drill_${stamp}_${i}`;
      const installationId = FIRST_INSTALLATION_ID + (i % options.installations);
      const id = bigIdFor(`repository ${fullName.toLowerCase()}`);
      github.addRepo(fullName, { installationId, defaultBranch: "main", id });
      const mainFiles = {
        ".github/autopilot.yml": repoConfig(`${health.url}/r/${i}/health`, options.healthSchedule),
        [FIRST_MIGRATION]: `create table items (id bigint primary key, name text not null);\n`,
      };
      const head = github.commit(fullName, mainFiles, { branch: "main" });
      repos.push({ fullName, owner, name, id, installationId, database, databaseUrl: withDatabase(adminUrl, database), mainFiles, head });
    }
    await createDatabases(
      adminUrl,
      repos.map((r) => r.database),
      options.createParallelism ?? 8,
    );
    return new Fleet(github, store, health, repos, adminUrl);
  }

  /** Each repository's production bound to its own database (`DRILL_DB_<index>`). */
  serverConfig(extra = ""): string {
    const targets = this.repos.map((r, i) => `  - { repo: ${r.fullName}, environment: production, database_url_env: ${envVarOf(i)} }`);
    return ["targets:", ...targets, "backups:", `  directory: /tmp/autopilot-drill-backups/${this.store.name}`, extra].join("\n");
  }

  env(): Record<string, string> {
    return Object.fromEntries(this.repos.map((r, i) => [envVarOf(i), r.databaseUrl]));
  }

  /** One more app process (replica) on the fleet's store; `until`: see AppOptions. */
  startApp(serverExtra: string, env: Record<string, string> = {}, until: AppOptions["until"] = "healthy"): Promise<RunningApp> {
    return startApp({ github: this.github, storeUrl: this.store.url, serverConfig: this.serverConfig(serverExtra), env: { ...this.env(), ...env }, until });
  }

  /** Commits `changes` over the repository's main and returns the new head. */
  commitToMain(repo: FleetRepo, changes: Record<string, string>): { before: string; after: string } {
    const before = repo.head;
    repo.mainFiles = { ...repo.mainFiles, ...changes };
    repo.head = this.github.commit(repo.fullName, repo.mainFiles, { branch: "main" });
    return { before, after: repo.head };
  }

  /** Rows of one query on a repository's target database. */
  async targetQuery<T extends pg.QueryResultRow>(repo: FleetRepo, sql: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: repo.databaseUrl });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.github.close(), this.health.close()]);
    await this.store.drop().catch(() => undefined);
    // The throw-away cluster is removed whole when this process exits; a shared one gets its databases back.
    if (process.env.TEST_DATABASE_URL)
      await dropDatabases(
        this.adminUrl,
        this.repos.map((r) => r.database),
      ).catch(() => undefined);
  }
}

function envVarOf(index: number): string {
  return `DRILL_DB_${index}`;
}

function repoConfig(healthUrl: string, schedule: string): string {
  return [
    "environments:",
    "  - { branch: main, environment: production }",
    "health:",
    `  schedule: "${schedule}"`,
    "  retries: 0",
    "  checks:",
    `    - { name: site, url: "${healthUrl}", expect_status: 200, body_contains: "ok", timeout_ms: 5000 }`,
    "",
  ].join("\n");
}

/** FILE_COPY makes each `create database` a plain copy of template1: ~25 ms each, 8 at once, instead of ~250 ms. */
async function createDatabases(adminUrl: string, names: string[], parallelism: number): Promise<void> {
  await onConnections(adminUrl, names, parallelism, (client, name) => client.query(`create database "${name}" strategy file_copy`));
}

async function dropDatabases(adminUrl: string, names: string[]): Promise<void> {
  await onConnections(adminUrl, names, 4, (client, name) => client.query(`drop database if exists "${name}" with (force)`));
}

async function onConnections(
  adminUrl: string,
  items: string[],
  parallelism: number,
  each: (client: pg.Client, item: string) => Promise<unknown>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(parallelism, items.length) }, async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) await each(client, item);
      } finally {
        await client.end();
      }
    }),
  );
}
