// npm run bench:heal — one heal cycle's probing over 200 HTTP checks on local servers: 180 answer at
// once, 20 accept the connection and never answer (past the 5 s timeout). The checks run through
// runAll + probeHttp exactly as the heal job runs them (no retries here: a retry is a later pass).
// The peer is the floor: the slowest check alone (one hang) takes the 5 s timeout, so a cycle can
// not beat it; the ratio shows what the other 199 checks add. Last line: cycle_seconds=<n>.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type { CheckResult } from "../src/health/check-result.js";
import { probeHttp, type HttpCheck } from "../src/health/http-probe.js";
import { runAll } from "../src/health/probe-runner.js";

const HEALTHY = 180;
const HANGING = 20;
const TIMEOUT_MS = 5000;
const POLICY = { allowHosts: ["127.0.0.1"] };
const GOAL_SECONDS = 6;

interface Endpoint {
  url: string;
  server: http.Server;
}

async function listen(handler: http.RequestListener): Promise<Endpoint> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`, server };
}

const answer: http.RequestListener = (_req, res) => res.end('{"status":"ok"}');
const hang: http.RequestListener = () => {}; // holds the request open until the client gives up

/** One server per endpoint, hanging ones spread among the healthy (every 10th), as in a real config. */
async function startEndpoints(): Promise<Endpoint[]> {
  const total = HEALTHY + HANGING;
  const every = Math.floor(total / HANGING);
  return Promise.all(Array.from({ length: total }, (_, i) => listen(i % every === every - 1 ? hang : answer)));
}

function checksFor(endpoints: Endpoint[]): HttpCheck[] {
  return endpoints.map((endpoint, i) => ({ name: `check-${i}`, url: endpoint.url, timeoutMs: TIMEOUT_MS, bodyContains: "ok" }));
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { seconds: (performance.now() - started) / 1000, value };
}

function count(results: CheckResult[], status: CheckResult["status"]): number {
  return results.filter((r) => r.status === status).length;
}

async function main(): Promise<void> {
  const endpoints = await startEndpoints();
  try {
    const checks = checksFor(endpoints);
    const hangingCheck = checks[endpoints.findIndex((e) => e.server.listeners("request")[0] === hang)];
    const floor = await timed(() => probeHttp(hangingCheck, { policy: POLICY }));
    const cycle = await timed(() => runAll(checks.map((check) => () => probeHttp(check, { policy: POLICY }))));

    const results = cycle.value;
    const timeouts = results.filter((r) => r.error === `timed out after ${TIMEOUT_MS} ms`).length;
    console.log(`checks: ${results.length} (${HEALTHY} answering, ${HANGING} hanging), concurrency 64, timeout ${TIMEOUT_MS} ms`);
    console.log(
      `healthy=${count(results, "healthy")} degraded=${count(results, "degraded")} unhealthy=${count(results, "unhealthy")} (timed out: ${timeouts})`,
    );
    console.log(`peer (one hanging check alone): ${floor.seconds.toFixed(2)} s`);
    console.log(`cycle: ${cycle.seconds.toFixed(2)} s — ratio to peer ${(cycle.seconds / floor.seconds).toFixed(3)}, goal ≤ ${GOAL_SECONDS} s`);
    console.log(`cycle_seconds=${cycle.seconds.toFixed(2)}`);
  } finally {
    for (const { server } of endpoints) {
      server.closeAllConnections();
      server.close();
    }
  }
}

await main();
