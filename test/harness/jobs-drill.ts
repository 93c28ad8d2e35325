// The jobs drill: many jobs of mixed kinds at once against the real app (a child process), while
// the target is held busy until more jobs hold their run locks at the same time than the store pool
// has connections — where the old pool (one lock per pooled connection) deadlocked. Every job must
// finish and /healthz answer within a second throughout. Shared by test/e2e-load.test.ts (a small
// drill) and drill/jobs.ts (`npm run drill:jobs`, the full one).
//
// On a starved machine (other test runs on the same two cores) any request to the app may take over
// a second before its first line runs. So each /healthz is sent together with a control request the
// app answers without its store (an unknown path: 404). `npm run drill:jobs` (meant for an idle
// machine) holds every answer to the bound; the test suite holds what /healthz adds over the control
// to it, and every answer to HEALTHZ_HANG_MS.
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { REPO, Scenario } from "./scenario.js";
import { shopRepo } from "./fixtures.js";
import { waitFor } from "./app-process.js";
import { signEvent } from "../../src/web/events.js";
import { DEFAULT_POOL_SIZE } from "../../src/store/store.js";

const SECRET = "drill-events-secret";
const OPS = "olga";
export const DRILL_ENVIRONMENTS = ["production", "preprod", "staging", "development"];
const RUN_LOCK_CLASS = 0x4150;
/** The liveness bound on every /healthz answer. */
export const HEALTHZ_BOUND_MS = 1000;
/** However starved the machine, no answer takes this long (the old pool made /healthz hang for good). */
export const HEALTHZ_HANG_MS = 5000;

export interface DrillShape {
  /** Pull requests opened at once: one plan each. */
  pulls: number;
  /** Pushes to main: one migration each (one at a time per repository). */
  pushes: number;
  /** Comments `/autopilot backup <env>` (plus `/autopilot heal` when `healsInComments`): a command and a backup each, one per environment. */
  backupComments: number;
  healsInComments: boolean;
  /** Comments `/autopilot plan`: a command and a plan each. */
  planComments: number;
  /** Comments `/autopilot status`, sent once the others have queued their work. */
  statusComments: number;
  /** `POST /autopilot/events` heals. */
  eventHeals: number;
}

export const FULL_DRILL: DrillShape = { pulls: 4, pushes: 2, backupComments: 4, healsInComments: true, planComments: 4, statusComments: 4, eventHeals: 2 };

/** The jobs a drill of this shape runs, by kind. */
export function expectedJobs(shape: DrillShape): Record<string, number> {
  return {
    command: shape.backupComments + shape.planComments + shape.statusComments,
    backup: shape.backupComments,
    plan: shape.pulls + shape.planComments,
    heal: (shape.healsInComments ? shape.backupComments : 0) + shape.eventHeals,
    migrate: shape.pushes,
  };
}

export interface HealthzSample {
  ms: number;
  status: number | string;
  /** The control request sent at the same moment: a path the app answers without its store. */
  controlMs: number;
  at: string;
}

export interface DrillResult {
  /** Run locks held at once when the target was let go. */
  peakLocks: number;
  runs: Array<{ id: number; kind: string; status: string; title: string | null }>;
  /** The comments' final reactions. */
  reactions: string[][];
  samples: HealthzSample[];
  seconds: number;
}

const REPO_CONFIG = [
  "environments:",
  "  - { branch: main, environment: production }",
  '  - { branch: "release/*", environment: preprod }',
  "  - { branch: staging, environment: staging }",
  "  - { branch: develop, environment: development }",
].join("\n");

/** The other environments, bound to the same target database as production. */
const EXTRA_TARGETS = DRILL_ENVIRONMENTS.filter((e) => e !== "production")
  .map((environment) => [`  - repo: ${REPO}`, `    environment: ${environment}`, "    database_url_env: SHOP_PROD_DATABASE_URL"].join("\n"))
  .join("\n");

/** An installation ready for the drill: four environments, one migration applied. */
export async function startDrillScenario(): Promise<{ scenario: Scenario; mainFiles: Record<string, string> }> {
  const scenario = await Scenario.start({ targetExtra: EXTRA_TARGETS, env: { AUTOPILOT_SECRET: SECRET } });
  scenario.github.setPermission(REPO, OPS, "admin");
  const mainFiles = { ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": REPO_CONFIG };
  const sha = await scenario.push(mainFiles);
  const run = await scenario.completedCheckRun(sha);
  if (run.conclusion !== "success") throw new Error(`the drill's first migration failed: ${run.output.summary}`);
  return { scenario, mainFiles };
}

export async function runLoadDrill(s: Scenario, mainFiles: Record<string, string>, shape: DrillShape, timeoutMs = 240_000): Promise<DrillResult> {
  if (shape.backupComments > DRILL_ENVIRONMENTS.length) throw new Error(`backupComments: at most ${DRILL_ENVIRONMENTS.length} (one per environment)`);
  const startedAt = performance.now();
  const [{ first }] = await s.storeQuery("select coalesce(max(id), 0)::int + 1 as first from runs");
  const healthz = pollHealthz(s.app.url);
  const blocker = await holdTargetBusy(s.target.url);
  let samples: HealthzSample[] = [];
  try {
    const comments = await sendWork(s, mainFiles, shape, first, timeoutMs / 2);
    let held = 0;
    await waitFor(
      () => `more than ${DEFAULT_POOL_SIZE} jobs holding run locks at once (last seen: ${held})`,
      async () => (held = await heldRunLocks(s)) > DEFAULT_POOL_SIZE,
      timeoutMs / 2,
    );
    await blocker.release();
    const total = Object.values(expectedJobs(shape)).reduce((a, b) => a + b, 0);
    let open: unknown[] = [];
    await waitFor(
      () => `all ${total} runs finished; still open: ${JSON.stringify(open)}`,
      async () => {
        const runs = await s.storeQuery("select id, kind, status from runs where id >= $1", [first]);
        open = runs.filter((r) => r.status === "queued" || r.status === "in_progress");
        return runs.length === total && open.length === 0;
      },
      timeoutMs / 2,
    );
    const reactions: string[][] = [];
    for (const { issue, id } of comments) reactions.push((await s.answered(issue, id)).reactions);
    const runs = await s.storeQuery("select id::int, kind, status, title from runs where id >= $1 order by id", [first]);
    samples = await healthz.stop();
    return { peakLocks: held, runs, reactions, samples, seconds: (performance.now() - startedAt) / 1000 };
  } finally {
    await blocker.release().catch(() => undefined);
    if (!samples.length) await healthz.stop().catch(() => undefined);
  }
}

/** Pull requests, pushes, comments and events, as fast as they can be delivered; the comments' issue and id. */
async function sendWork(
  s: Scenario,
  mainFiles: Record<string, string>,
  shape: DrillShape,
  first: number,
  timeoutMs: number,
): Promise<Array<{ issue: number; id: number }>> {
  for (let i = 0; i < shape.pulls; i++) {
    s.resetFiles(mainFiles);
    await s.pullRequest(101 + i, { [`migrations/0010_pr_${101 + i}.sql`]: `create table pr_${101 + i} (id bigint primary key);\n` });
  }
  s.resetFiles(mainFiles);
  for (let i = 0; i < shape.pushes; i++) {
    await s.push({ [`migrations/${String(2 + i).padStart(4, "0")}_drill_${i}.sql`]: `create table drill_${i} (id bigint primary key);\n` });
  }
  const comments: Array<{ issue: number; id: number }> = [];
  const comment = async (issue: number, body: string) => comments.push({ issue, id: await s.comment(body, { login: OPS, issueNumber: issue }) });
  for (let i = 0; i < shape.backupComments; i++) {
    await comment(10 + i, `/autopilot backup ${DRILL_ENVIRONMENTS[i]}${shape.healsInComments ? "\n/autopilot heal" : ""}`);
  }
  for (let i = 0; i < shape.planComments; i++) await comment(20 + i, "/autopilot plan");
  for (let i = 0; i < shape.eventHeals; i++) await postHealEvent(s);
  // Status waits on the target's history: sent last, so those commands cannot keep the others from queueing their work.
  // A command queues its work only once its reply is posted, and the app paces its GitHub writes per
  // installation as GitHub asks (Probot's throttle: one a second, three seconds between comments):
  // eight replies alone take 24 s, and they queue behind the plans', migrations' and heals' writes —
  // past waitFor's 30 s default (the product is right to pace: GitHub's secondary rate limits).
  const queued = shape.backupComments + shape.planComments;
  await waitFor(
    `the commands' ${queued} backups and plans queued`,
    async () => {
      const [{ n }] = await s.storeQuery("select count(*)::int as n from runs where id >= $1 and kind in ('backup', 'plan') and trigger = 'command'", [first]);
      return n === queued;
    },
    timeoutMs,
  );
  for (let i = 0; i < shape.statusComments; i++) await comment(30 + i, "/autopilot status");
  return comments;
}

async function postHealEvent(s: Scenario): Promise<void> {
  const body = JSON.stringify({ repo: REPO, action: "heal" });
  const event = { timestamp: String(Math.floor(Date.now() / 1000)), deliveryId: randomUUID(), body };
  const response = await fetch(`${s.app.url}/autopilot/events`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-autopilot-timestamp": event.timestamp,
      "x-autopilot-delivery": event.deliveryId,
      "x-autopilot-signature-256": signEvent(SECRET, event),
    },
    body,
  });
  if (response.status !== 202) throw new Error(`the heal event was refused: ${response.status} ${await response.text()}`);
}

/**
 * Keeps the target busy: backups (and a migration's backup) wait for pg_dump's table locks, status
 * and plans for the history table, so their jobs pile up holding their run locks.
 */
async function holdTargetBusy(targetUrl: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: targetUrl });
  await client.connect();
  await client.query("begin");
  await client.query("lock table autopilot.schema_migrations, public.customers in access exclusive mode");
  let released: Promise<void> | undefined;
  return { release: () => (released ??= client.query("commit").then(() => client.end())) };
}

async function heldRunLocks(s: Scenario): Promise<number> {
  const [{ n }] = await s.storeQuery(
    `select count(*)::int as n from pg_locks
      where locktype = 'advisory' and classid = $1 and objsubid = 2 and granted
        and database = (select oid from pg_database where datname = current_database())`,
    [RUN_LOCK_CLASS],
  );
  return n;
}

// The poller runs on a thread of its own: the fake GitHub shares the test's event loop, and its
// schema validation must not be what a slow answer is blamed on.
const POLLER = `
const { parentPort, workerData } = require("node:worker_threads");
const samples = [];
let running = true;
parentPort.on("message", () => (running = false));
(async () => {
  const timed = async (path) => {
    const startedAt = performance.now();
    const status = await fetch(workerData.url + path, { signal: AbortSignal.timeout(workerData.hangMs) }).then((r) => r.status, (e) => e.name);
    return { ms: performance.now() - startedAt, status };
  };
  while (running) {
    const [healthz, control] = await Promise.all([timed("/healthz"), timed("/drill-control-no-such-path")]);
    samples.push({ ms: healthz.ms, status: healthz.status, controlMs: control.ms, at: new Date().toISOString() });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  parentPort.postMessage(samples);
})();
`;

/** Polls /healthz one request after another until stopped, timing each answer. */
function pollHealthz(url: string): { stop: () => Promise<HealthzSample[]> } {
  const worker = new Worker(POLLER, { eval: true, workerData: { url, hangMs: HEALTHZ_HANG_MS } });
  const done = new Promise<HealthzSample[]>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    stop: async () => {
      worker.postMessage("stop");
      const samples = await done;
      await worker.terminate();
      return samples;
    },
  };
}

/**
 * Failed /healthz answers, and slow ones: `strict`, every answer over the bound; `beyondControl`,
 * answers whose store round trip added the bound or more to what the control took, or that hung.
 */
export function slowAnswers(samples: HealthzSample[], rule: "strict" | "beyondControl"): HealthzSample[] {
  const slow = (x: HealthzSample) => (rule === "strict" ? x.ms >= HEALTHZ_BOUND_MS : x.ms >= HEALTHZ_HANG_MS || x.ms - x.controlMs >= HEALTHZ_BOUND_MS);
  return samples.filter((x) => x.status !== 200 || slow(x));
}

export function describeSamples(samples: HealthzSample[]): string {
  const sorted = samples.map((x) => x.ms).sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  const over = samples.filter((x) => x.ms >= HEALTHZ_BOUND_MS);
  const controlOver = over.filter((x) => x.controlMs >= HEALTHZ_BOUND_MS / 2).length;
  return `${samples.length} answers; p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, slowest ${at(1)} ms; ${over.length} over ${HEALTHZ_BOUND_MS} ms (${controlOver} of them while the store-free control took over ${HEALTHZ_BOUND_MS / 2} ms too)`;
}
