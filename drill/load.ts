// `npm run drill:load`: the app (or two replicas on one store) with 1,000 installed repositories on
// the fake GitHub, each with its own target database and a health check, under `--rate` webhook
// deliveries a second of a realistic mix for `--minutes`, a push with a new migration to
// `--migrations` repositories spread over the run, and every repository's health cycle every minute.
// Prints acknowledgement times, lost deliveries, runs by kind, migrations applied, GitHub requests per
// repository per hour, peak RSS and the store's size, then `lost=<n> ack_p99_ms=<n> rss_mb=<n>`
// (and `duplicates=<n>` with replicas). Exits 1 when a delivery was lost or work was done twice.
//
//   npm run drill:load -- --repos 20 --minutes 1 --rate 20 [--migrations 5] [--replicas 2 | --split]
//
// `--split` runs two processes on one store as an operator who scales answers apart from work would:
// one with AUTOPILOT_ROLE=web that is sent every delivery, and one with the default role that runs the jobs.
// Traffic starts once every replica answers /readyz, as behind a load balancer's readiness probe;
// `--cold` starts it as soon as they answer /healthz (GitHub pointed straight at a replica just started).
//
// DRILL_APP_NODE_OPTIONS is passed to the app processes as NODE_OPTIONS, e.g. to profile them:
//   DRILL_APP_NODE_OPTIONS="--import ./profile-hook.mjs" npm run drill:load -- … (NODE_OPTIONS refuses --cpu-prof)
// DRILL_ACKS_FILE=<path> writes every acknowledgement as JSON [sent at (epoch ms), ms, kind], to see when slow ones came.
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { Fleet, FIRST_MIGRATION, type FleetRepo } from "../test/harness/fleet.js";
import { WEBHOOK_SECRET, sleep, type RunningApp } from "../test/harness/app-process.js";
import { query } from "../test/harness/postgres.js";
import { TRAFFIC_MIX, Traffic, type DrillDelivery } from "./traffic.js";
import { WebhookSender, type Acknowledgement } from "./webhook-sender.js";

const GOALS = { ackP99Ms: 20, rssMb: 512 };

/** The q-quantile (0–1) of the times (sorted in place), 0 for none. */
function quantile(times: number[], q: number): number {
  times.sort((a, b) => a - b);
  return times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
}
const DRILL_MIGRATION = "migrations/0002_drill.sql";

interface DrillOptions {
  minutes: number;
  rate: number;
  migrations: number;
  repos: number;
  replicas: number;
  /** A web replica answers every delivery; a second one runs the jobs. */
  split: boolean;
  installations: number;
  drainMinutes: number;
  /** Traffic from /healthz on instead of /readyz. */
  cold: boolean;
}

function parseOptions(): DrillOptions {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "10" },
      rate: { type: "string", default: "200" },
      migrations: { type: "string", default: "100" },
      repos: { type: "string", default: "1000" },
      replicas: { type: "string", default: "1" },
      split: { type: "boolean", default: false },
      cold: { type: "boolean", default: false },
      installations: { type: "string", default: "10" },
      "drain-minutes": { type: "string", default: "5" },
    },
  });
  const number = (name: keyof typeof values, min: number): number => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name}: must be a number ≥ ${min}, got "${values[name]}"`);
    return value;
  };
  const options = {
    minutes: number("minutes", 0.1),
    rate: number("rate", 1),
    migrations: number("migrations", 0),
    repos: number("repos", 1),
    replicas: number("replicas", 1),
    split: values.split ?? false,
    cold: values.cold ?? false,
    installations: number("installations", 1),
    drainMinutes: number("drain-minutes", 0),
  };
  if (options.migrations > options.repos)
    throw new Error(`--migrations: at most one push per repository (--repos ${options.repos}), got ${options.migrations}`);
  if (![1, 2].includes(options.replicas)) throw new Error(`--replicas: 1 or 2, got ${options.replicas}`);
  if (options.split && options.replicas !== 1) throw new Error("--split starts its own two processes: leave --replicas out");
  return { ...options, installations: Math.min(options.installations, options.repos) };
}

const options = parseOptions();
console.log(
  `drill: ${options.repos} repositories in ${options.installations} installations, ${options.split ? "a web replica and a worker replica" : `${options.replicas} replica(s)`}, ${options.rate} deliveries/s for ${options.minutes} min, ` +
    `${options.migrations} migration pushes, health cycles every minute`,
);
console.log(
  `mix per 1,000 deliveries: ${Object.entries(TRAFFIC_MIX)
    .map(([kind, n]) => `${kind} ${n}`)
    .join("; ")}; plus the migration pushes`,
);

let setupStartedAt = performance.now();
const fleet = await Fleet.start({ repos: options.repos, installations: options.installations, healthSchedule: "* * * * *" });
console.log(`setup: ${options.repos} repositories and target databases in ${((performance.now() - setupStartedAt) / 1000).toFixed(1)} s`);
setupStartedAt = performance.now();
const apps: RunningApp[] = [];
let exitCode = 1;
try {
  // The drill's health server is on loopback, which the SSRF guard refuses unless the operator allows it.
  const serverExtra = "health:\n  allow_hosts: ['127.0.0.1']";
  // Info logs at 200 deliveries a second would be the drill's own memory problem: the app logs warnings.
  const appEnv = { LOG_LEVEL: "warn", ...(process.env.DRILL_APP_NODE_OPTIONS ? { NODE_OPTIONS: process.env.DRILL_APP_NODE_OPTIONS } : {}) };
  // Traffic starts once every replica is ready (GET /readyz), as a load balancer's readiness probe
  // would hold it: a replica warms up (reads every repository's config) before it takes deliveries.
  const until = options.cold ? "healthy" : "ready";
  if (options.split) apps.push(await fleet.startApp(serverExtra, { ...appEnv, AUTOPILOT_ROLE: "web" }, until));
  for (let i = 0; i < options.replicas; i++) apps.push(await fleet.startApp(serverExtra, appEnv, until));
  console.log(
    `setup: ${apps.length} app process(es) up${options.cold ? " (cold)" : " and ready"} in ${((performance.now() - setupStartedAt) / 1000).toFixed(1)} s`,
  );
  exitCode = await drill(fleet, apps, options);
} catch (error) {
  console.log(`FAIL ${(error as Error).stack ?? error}`);
  for (const app of apps) console.log(app.output().split("\n").slice(-40).join("\n"));
} finally {
  for (const app of apps) await app.stop();
  await fleet.stop();
}
process.exit(exitCode);

async function drill(fleet: Fleet, apps: RunningApp[], o: DrillOptions): Promise<number> {
  const rss = sampleRss(apps);
  const traffic = new Traffic(fleet);
  const sender = new WebhookSender(WEBHOOK_SECRET);
  await sender.warm(apps.map((app) => app.url));
  const startedAt = Date.now();
  const sent: DrillDelivery[] = [];
  const durationMs = o.minutes * 60_000;
  const pushed = fleet.repos.filter((_, i) => i % Math.floor(fleet.repos.length / Math.max(o.migrations, 1)) === 0).slice(0, o.migrations);
  const pushAt = pushed.map((_, k) => ((k + 0.5) * durationMs) / pushed.length);
  let pushes = 0;
  const send = (batch: DrillDelivery[]) => {
    sender.send(
      batch.map(({ body, ...kept }) => {
        const index = sent.push(kept) - 1;
        // Split: the web replica (the first) answers everything.
        const appUrl = o.split ? apps[0].url : apps[index % apps.length].url;
        return { index, appUrl, event: kept.event, deliveryId: kept.deliveryId, body: body!, dueAt: kept.dueAt! };
      }),
    );
  };
  // Open loop, whatever the app's answers take: deliveries arrive as a Poisson process at the rate
  // (events happen independently; GitHub sends each when it happens), handed to the sender thread
  // up to AHEAD_MS before their time so the drill's own pauses do not bunch them up.
  const AHEAD_MS = 150;
  const gap = () => (-Math.log(1 - Math.random()) * 1000) / o.rate;
  let nextAt = startedAt + gap();
  while (Date.now() - startedAt < durationMs) {
    const elapsed = Date.now() - startedAt;
    const horizon = Date.now() + AHEAD_MS;
    const batch: DrillDelivery[] = [];
    for (; nextAt < horizon && nextAt < startedAt + durationMs; nextAt += gap()) batch.push({ ...traffic.next(), dueAt: nextAt });
    while (pushes < pushed.length && startedAt + pushAt[pushes] <= horizon) {
      const push = traffic.migrationPush(pushed[pushes], DRILL_MIGRATION, `create table drill_${pushes} (id bigint primary key);\n`);
      batch.push({ ...push, dueAt: startedAt + pushAt[pushes] });
      pushes++;
    }
    send(batch);
    if (Math.floor(elapsed / 60_000) !== Math.floor((elapsed + 50) / 60_000))
      console.log(`… ${Math.round((elapsed + 50) / 60_000)} min: ${sent.length} deliveries sent`);
    await sleep(50);
  }
  const acks = await sender.close();
  if (process.env.DRILL_ACKS_FILE) writeFileSync(process.env.DRILL_ACKS_FILE, JSON.stringify(acks.map((a) => [sent[a.index].dueAt, a.ms, sent[a.index].kind])));
  const trafficSeconds = (Date.now() - startedAt) / 1000;
  console.log(`traffic: ${sent.length} deliveries in ${trafficSeconds.toFixed(0)} s (${(sent.length / trafficSeconds).toFixed(1)}/s)`);

  await drain(fleet, sent, o.drainMinutes);
  const hours = (Date.now() - startedAt) / 3_600_000;
  const peakRss = rss.stop();
  return report(fleet, apps, o, sent, acks, pushed, hours, peakRss);
}

/** Waits (at most `minutes`) until every migration push's run finished and no plan or command is left queued. */
async function drain(fleet: Fleet, sent: DrillDelivery[], minutes: number): Promise<void> {
  const drainStartedAt = Date.now();
  const expected = sent.filter((d) => d.expectsRun).map((d) => d.deliveryId);
  for (;;) {
    const [{ open }] = await query<{ open: number }>(
      fleet.store.url,
      `select count(*)::int as open from runs where delivery_id = any($1::text[]) and status in ('queued', 'in_progress')`,
      [expected],
    );
    if (open === 0) break;
    if (Date.now() - drainStartedAt > minutes * 60_000) {
      console.log(`drain: ${open} runs the deliveries started still open after ${minutes} min`);
      break;
    }
    await sleep(2000);
  }
  console.log(`drain: ${((Date.now() - drainStartedAt) / 1000).toFixed(0)} s after the traffic stopped`);
}

async function report(
  fleet: Fleet,
  apps: RunningApp[],
  o: DrillOptions,
  sent: DrillDelivery[],
  acks: Acknowledgement[],
  pushed: FleetRepo[],
  hours: number,
  peakRssKb: number[],
): Promise<number> {
  const store = fleet.store.url;
  // Acknowledgement: the app's HTTP answer to each delivery.
  const all = acks.map((a) => a.ms);
  const at = (q: number) => quantile(all, q);
  console.log(`ack: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms over ${acks.length} deliveries`);
  for (const kind of [...Object.keys(TRAFFIC_MIX), "migration push"]) {
    const times = acks.filter((a) => sent[a.index].kind === kind).map((a) => a.ms);
    if (times.length) console.log(`  ${kind}: ${times.length}, p50 ${quantile(times, 0.5).toFixed(1)} ms, p99 ${quantile(times, 0.99).toFixed(1)} ms`);
  }

  // When the slow answers came: p99 per minute of traffic.
  const firstAt = sent.reduce((first, d) => Math.min(first, d.dueAt!), Infinity);
  const byMinute: number[][] = [];
  for (const a of acks) (byMinute[Math.floor((sent[a.index].dueAt! - firstAt) / 60_000)] ??= []).push(a.ms);
  console.log(`  p99 by minute of traffic: ${byMinute.map((times, minute) => `${minute + 1}: ${quantile(times, 0.99).toFixed(0)} ms`).join(", ")}`);

  // Lost: not answered 2xx, or a run was due and never recorded.
  const refused = acks.filter((a) => typeof a.status !== "number" || a.status < 200 || a.status >= 300);
  const unanswered = sent.length - acks.length;
  const expected = sent.filter((d) => d.expectsRun);
  const recorded = new Set(
    (await query<{ delivery_id: string }>(store, "select delivery_id from runs where delivery_id = any($1::text[])", [expected.map((d) => d.deliveryId)])).map(
      (r) => r.delivery_id,
    ),
  );
  const unrecorded = expected.filter((d) => !recorded.has(d.deliveryId));
  // A delivery counts once however it was lost. One answered 2xx whose run is missing is the worst
  // kind (the sender was told all is well); one that timed out may only have been slow.
  const refusedSet = new Set(refused);
  const answeredOk = new Set(acks.filter((a) => !refusedSet.has(a)).map((a) => sent[a.index].deliveryId));
  const acknowledgedThenDropped = unrecorded.filter((d) => answeredOk.has(d.deliveryId)).length;
  const lost = sent.filter((d) => !answeredOk.has(d.deliveryId) || (d.expectsRun && !recorded.has(d.deliveryId))).length;
  console.log(
    `lost: ${lost} (${refused.length} not answered 2xx, ${unanswered} never answered, ${unrecorded.length} of ${expected.length} runs due never recorded, ` +
      `${acknowledgedThenDropped} of them answered 2xx)`,
  );
  for (const a of refused.slice(0, 5)) console.log(`  ${sent[a.index].kind} to ${sent[a.index].repo.fullName}: ${a.status} after ${Math.round(a.ms)} ms`);
  for (const d of unrecorded.slice(0, 5)) console.log(`  no run for ${d.kind} to ${d.repo.fullName} (delivery ${d.deliveryId})`);

  // Runs by kind and state (the health cycles' and the migrations' verifications included).
  const runs = await query<{ kind: string; status: string; n: number }>(store, "select kind, status, count(*)::int as n from runs group by 1, 2 order by 1, 2");
  const byKind = new Map<string, string[]>();
  for (const r of runs) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), `${r.status} ${r.n}`]);
  console.log(`runs: ${[...byKind].map(([kind, states]) => `${kind} (${states.join(", ")})`).join("; ")}`);
  // A failure is either the drill's own doing (a plan whose lint finds an error) or a defect: say which.
  const failures = await query<{ kind: string; title: string; error: string | null; n: number }>(
    store,
    "select kind, title, error, count(*)::int as n from runs where status = 'failure' group by 1, 2, 3 order by 4 desc limit 5",
  );
  for (const f of failures) console.log(`  ${f.kind} failure ×${f.n}: ${f.title}${f.error ? ` (${f.error.slice(0, 200)})` : ""}`);

  // Migrations: each pushed target's history holds the first file and the drill's, each once.
  let applied = 0;
  for (const repo of pushed) {
    const rows = await fleet
      .targetQuery<{ version: string }>(repo, "select version from autopilot.schema_migrations where reverted_at is null")
      .catch(() => []);
    const versions = rows.map((r) => r.version);
    if (versions.includes(versionOf(DRILL_MIGRATION)) && versions.includes(versionOf(FIRST_MIGRATION))) applied++;
  }
  console.log(`migrations: ${applied} of ${pushed.length} pushed repositories have the drill's migration applied`);

  // Work done twice: more than one migrate run for a push, or more than one heal run for a repository's slot.
  const pushedShas = sent.filter((d) => d.kind === "migration push").map((d) => d.commitSha!);
  const [{ twice: migrateTwice }] = await query<{ twice: number }>(
    store,
    `select coalesce(sum(n - 1), 0)::int as twice from (select count(*) as n from runs where kind = 'migrate' and commit_sha = any($1::text[]) group by repo, commit_sha) x`,
    [pushedShas],
  );
  const [{ twice: healTwice, slots }] = await query<{ twice: number; slots: number }>(
    store,
    `select coalesce(sum(n - 1), 0)::int as twice, count(*)::int as slots from (select count(*) as n from runs where kind = 'heal' group by repo, params->>'slot') x`,
  );
  const duplicates = migrateTwice + healTwice;
  console.log(`duplicates: ${duplicates} (${migrateTwice} extra migrate runs for a push, ${healTwice} extra heal runs over ${slots} repository slots)`);
  console.log(`health: ${fleet.health.probes} probes answered by the health server`);

  // GitHub: requests per repository per hour, and what they were.
  const requests = fleet.github.requests;
  const perRepoHour = requests.length / fleet.repos.length / hours;
  console.log(`github: ${requests.length} requests in ${(hours * 60).toFixed(1)} min: ${perRepoHour.toFixed(1)} per repository per hour`);
  const byRoute = new Map<string, number>();
  for (const r of requests) {
    const route = `${r.method} ${routeOf(r.path)} ${r.status}`;
    byRoute.set(route, (byRoute.get(route) ?? 0) + 1);
  }
  for (const [route, n] of [...byRoute].sort((a, b) => b[1] - a[1]).slice(0, 10))
    console.log(`  ${route}: ${n} (${(n / fleet.repos.length / hours).toFixed(1)} per repository per hour)`);

  const rssMb = Math.round(Math.max(...peakRssKb) / 1024);
  console.log(`rss: peak ${peakRssKb.map((kb) => `${Math.round(kb / 1024)} MB`).join(", ")} (VmHWM of each app process)`);
  const [{ size }] = await query<{ size: string }>(store, "select pg_database_size(current_database())::text as size");
  console.log(`store: ${(Number(size) / 1024 / 1024).toFixed(1)} MB`);
  console.log(`machine: ${execFileSync("uptime").toString().trim()}`);
  console.log(
    `goals: lost = 0 (fails the drill), ack p99 ≤ ${GOALS.ackP99Ms} ms, RSS ≤ ${GOALS.rssMb} MB${apps.length > 1 ? ", duplicates = 0 (fails the drill)" : ""}`,
  );
  if (apps.length > 1) console.log(`duplicates=${duplicates}`);
  console.log(`lost=${lost} ack_p99_ms=${Math.round(at(0.99))} rss_mb=${rssMb}`);
  return lost > 0 || duplicates > 0 ? 1 : 0;
}

function versionOf(file: string): string {
  return file.replace(/^migrations\//, "").split("_")[0];
}

/** A request path with its repository, numbers and SHAs generalised: `/repos/:repo/issues/:n/comments`. */
function routeOf(path: string): string {
  return decodeURIComponent(path)
    .replace(/^\/repos\/[^/]+\/[^/]+/, "/repos/:repo")
    .replace(/\/contents\/.*/, "/contents/:path")
    .replace(/\/[0-9a-f]{40}\b/g, "/:sha")
    .replace(/\/\d+\b/g, "/:n");
}

/** Samples each app's peak resident memory (VmHWM) once a second; `stop` gives the last reading of each. */
function sampleRss(apps: RunningApp[]): { stop: () => number[] } {
  const peaks = apps.map(() => 0);
  const read = () =>
    apps.forEach((app, i) => {
      try {
        const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${app.pid}/status`, "utf8"))?.[1] ?? 0);
        peaks[i] = Math.max(peaks[i], kb);
      } catch {
        // The process ended: its last reading stands.
      }
    });
  const timer = setInterval(read, 1000);
  return {
    stop: () => {
      read();
      clearInterval(timer);
      return peaks;
    },
  };
}
