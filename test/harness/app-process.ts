// Runs the real app (`src/main.ts`, as `npm start` does) in a child process pointed at the fake
// GitHub, so end-to-end tests talk to it over HTTP exactly as GitHub would, and can kill it.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../src/store/local-cluster.js";
import { generateAppKey } from "./app-key.js";
import type { FakeGitHub } from "./fake-github.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const WEBHOOK_SECRET = "test-webhook-secret";
/** One key per test process: the fake GitHub checks the app's JWTs with it. */
export const APP_PRIVATE_KEY = generateAppKey();

export interface AppOptions {
  github: FakeGitHub;
  storeUrl: string;
  serverConfig: string; // YAML text
  env?: Record<string, string>;
  /**
   * What counts as started: `/healthz` (the process is up, the default) or `/readyz` (warmed up, as a
   * load balancer's readiness probe would wait for before sending it deliveries).
   */
  until?: "healthy" | "ready";
}

export interface RunningApp {
  url: string;
  /** The app's process id (its memory is read from /proc/<pid>/status by `npm run drill:load`). */
  pid: number;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-app-"));
  const configPath = path.join(dir, "autopilot.server.yml");
  writeFileSync(configPath, options.serverConfig);
  const port = await freePort();
  const child = spawn(process.execPath, startCommandArgs(), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "test",
      APP_ID: "1",
      PRIVATE_KEY: APP_PRIVATE_KEY,
      WEBHOOK_SECRET,
      HOST: "127.0.0.1",
      PORT: String(port),
      GHE_HOST: options.github.host,
      GHE_PROTOCOL: "http",
      DATABASE_URL: options.storeUrl,
      AUTOPILOT_SERVER_CONFIG: configPath,
      AUTOPILOT_DATA_DIR: dir,
      AUTOPILOT_RETRY_LIMIT: "2",
      AUTOPILOT_RETRY_DELAY_SECONDS: "1",
      AUTOPILOT_JOB_POLL_SECONDS: "0.5",
      AUTOPILOT_REAPER_SECONDS: "1",
      // A repo with a health section verifies each release for 5 min: 10 probes 0.1 s apart here.
      AUTOPILOT_VERIFY_PROBE_SECONDS: "0.1",
      // A failing deploy hook is retried three times: 50 ms apart here, not 30 s, 2 min and 5 min.
      AUTOPILOT_DEPLOY_HOOK_RETRY_SECONDS: "0.05,0.05,0.05",
      LOG_LEVEL: "debug",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswers(`${url}/${options.until === "ready" ? "readyz" : "healthz"}`, child, () => output);
  return {
    url,
    pid: child.pid!,
    output: () => output,
    kill: (signal = "SIGKILL") => exitOf(child, signal),
    stop: () => exitOf(child, "SIGTERM"),
  };
}

/** The node arguments of `npm start` (package.json's start script), so tests and drills run the app as users do. */
export function startCommandArgs(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.split(/\s+/);
  if (command !== "node") throw new Error(`package.json's start script must run node, not ${command}`);
  return args;
}

async function waitUntilAnswers(probeUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  // Generous: on a loaded 2-core machine tsx alone can take half a minute to compile the app.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`app exited with ${child.exitCode}:\n${output()}`);
    const ok = await fetch(probeUrl).then(
      (r) => r.ok,
      () => false,
    );
    // Only our child's answer counts: a port picked free may meanwhile be taken by another test
    // file's app, whose /healthz would answer for ours (seen once: a store not yet migrated).
    if (ok && listensOn(child.pid!, Number(new URL(probeUrl).port))) return;
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new Error(`app did not answer ${new URL(probeUrl).pathname}:\n${output()}`);
}

/** Whether the process holds the socket listening on the port (Linux's /proc); true where /proc cannot tell. */
function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields[3] === "0A" && parseInt(fields[1]?.split(":")[1] ?? "", 16) === port) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0 || !existsSync(`/proc/${pid}/fd`)) return !existsSync("/proc/net/tcp");
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? "");
    } catch {
      return false; // closed meanwhile
    }
  });
}

function exitOf(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string | (() => string), probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
    await sleep(150);
  }
}
