// Runs a PostgreSQL cluster from the machine's own binaries, so that a newcomer (and the test
// harness) needs no database server set up beforehand. PostgreSQL refuses to run as root, so when
// this process is root the cluster's commands run as the unprivileged `postgres` user.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, chownSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { executableSearchPath } from "../config/environment.js";

const run = promisify(execFile);

export interface LocalCluster {
  url: string;
  port: number;
  dataDir: string;
  /** False when the cluster was already running (another process owns it). */
  startedHere: boolean;
  stop(): Promise<void>;
  /** Stops synchronously (fast shutdown: sessions end, data is flushed); safe in a process 'exit' handler. */
  stopSync(): void;
}

export interface ClusterOptions {
  dataDir: string;
  port?: number;
  superuser?: string;
  /** Trades durability for speed (fsync off): for throw-away test clusters only. */
  disposable?: boolean;
}

/** Directory holding initdb/pg_ctl: PATH first, else the newest /usr/lib/postgresql/<major>/bin. */
export function findPostgresBinDir(): string {
  for (const dir of executableSearchPath()) {
    if (dir && existsSync(path.join(dir, "pg_ctl")) && existsSync(path.join(dir, "initdb"))) return dir;
  }
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) {
      const dir = path.join(root, major, "bin");
      if (existsSync(path.join(dir, "pg_ctl"))) return dir;
    }
  }
  throw new Error(
    "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in /usr/lib/postgresql/*/bin. " +
      "Install PostgreSQL 15+ or set DATABASE_URL to an existing server.",
  );
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function postgresUserIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  return { uid, gid };
}

/** argv for running a cluster command, dropping root privileges when needed. */
function asClusterUser(binary: string, args: string[]): [string, string[]] {
  return isRoot() ? ["runuser", ["-u", "postgres", "--", binary, ...args]] : [binary, args];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function prepareDataDir(dataDir: string): void {
  // Parents keep the default mode: the postgres user must be able to traverse them.
  mkdirSync(path.dirname(dataDir), { recursive: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (isRoot()) {
    const { uid, gid } = postgresUserIds();
    if (statSync(dataDir).uid !== uid) chownSync(dataDir, uid, gid);
  }
}

async function initialize(bin: string, dataDir: string, superuser: string): Promise<void> {
  const [cmd, args] = asClusterUser(path.join(bin, "initdb"), ["-D", dataDir, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--no-sync"]);
  try {
    await run(cmd, args);
  } catch (error) {
    const hint = isRoot()
      ? ` (as root the cluster runs as the "postgres" user, which must be able to reach ${dataDir}: ` +
        "choose a readable place with AUTOPILOT_DATA_DIR, or set DATABASE_URL)"
      : "";
    throw new Error(`could not initialize a PostgreSQL cluster in ${dataDir}${hint}: ${(error as { stderr?: string }).stderr ?? error}`);
  }
}

function isRunning(bin: string, dataDir: string): boolean {
  const [cmd, args] = asClusterUser(path.join(bin, "pg_ctl"), ["-D", dataDir, "status"]);
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Starts (initializing on first use) a cluster listening on 127.0.0.1 only; reuses one already running. */
export async function startCluster(options: ClusterOptions): Promise<LocalCluster> {
  const bin = findPostgresBinDir();
  const dataDir = path.resolve(options.dataDir);
  const superuser = options.superuser ?? "postgres";
  prepareDataDir(dataDir);
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) await initialize(bin, dataDir, superuser);

  const portFile = path.join(dataDir, "autopilot.port");
  let port = options.port ?? (existsSync(portFile) ? Number(readFileSync(portFile, "utf8")) : await freePort());
  const alreadyRunning = isRunning(bin, dataDir) && existsSync(portFile);
  if (alreadyRunning) {
    port = Number(readFileSync(portFile, "utf8"));
  } else {
    const durability = options.disposable ? " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" : "";
    const serverOptions = `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c max_connections=200${durability}`;
    const [cmd, args] = asClusterUser(path.join(bin, "pg_ctl"), [
      "-D",
      dataDir,
      "-o",
      serverOptions,
      "-l",
      path.join(dataDir, "server.log"),
      "-w",
      "-t",
      "60",
      "start",
    ]);
    await run(cmd, args);
    writeFileSync(portFile, String(port));
  }

  const ctl = (mode: string): [string, string[]] => asClusterUser(path.join(bin, "pg_ctl"), ["-D", dataDir, "-m", mode, "-w", "stop"]);
  return {
    url: `postgres://${superuser}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    startedHere: !alreadyRunning,
    async stop() {
      const [cmd, args] = ctl("fast");
      await run(cmd, args).catch(() => undefined);
    },
    stopSync() {
      const [cmd, args] = ctl("fast");
      try {
        execFileSync(cmd, args, { stdio: "ignore" });
      } catch {
        // already stopped
      }
    },
  };
}
