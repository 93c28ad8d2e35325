// The circuit breaker of a target database's non-migration work (health probes, scans' reads): a real
// store keeps its state, the target is a port nothing listens on until a proxy to the test cluster
// comes up there (the database is back).
import assert from "node:assert/strict";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { bindBreakerStore, breakerStates, FAILURE_THRESHOLD, openBreakersOf, targetDatabaseDestination } from "../src/breakers.js";
import { probeDatabaseThroughBreaker } from "../src/health/db-probe.js";
import { gatherInsights } from "../src/analytics/insights.js";
import { renderMetrics } from "../src/web/metrics.js";
import { renderStatus } from "../src/report/status-report.js";
import { useTestStore } from "./harness/test-store.js";

/** A port that was free a moment ago: nothing listens on it. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Forwards `port` to the test cluster: the target database comes back. */
async function proxyTo(port: number, upstream: URL): Promise<net.Server> {
  const server = net.createServer((client) => {
    const socket = net.connect(Number(upstream.port || 5432), upstream.hostname);
    client.pipe(socket).pipe(client);
    const end = () => (client.destroy(), socket.destroy());
    client.on("error", end);
    socket.on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

describe("target database circuit breaker", () => {
  const t = useTestStore("target_db_breaker");
  const destination = targetDatabaseDestination("Acme/Shop", "production");
  let port: number;
  let targetUrl: string;
  let proxy: net.Server | undefined;
  before(async () => {
    bindBreakerStore(t.store.pool);
    port = await freePort();
    // The store's own credentials, pointed at the closed port (later the proxy).
    const url = new URL(t.store.url);
    url.hostname = "127.0.0.1";
    url.port = String(port);
    targetUrl = url.toString();
  });
  after(async () => {
    bindBreakerStore(undefined);
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  });

  /** What must never show: the connection string and its password. */
  const secrets = () => [targetUrl, new URL(targetUrl).password].filter((x) => x.length >= 3);

  const probe = (databaseUrl = targetUrl) => probeDatabaseThroughBreaker({ name: "database-production", destination, databaseUrl });

  test("five failed probes open it: the sixth is skipped without a connection, and counted", async () => {
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      const result = await probe();
      assert.equal(result.status, "unhealthy");
      assert.equal(result.attempts, 1, "a real attempt");
      assert.match(result.error ?? "", /ECONNREFUSED|connect/i);
    }
    const started = performance.now();
    const skipped = await probe();
    const tookMs = performance.now() - started;
    assert.equal(skipped.status, "unhealthy");
    assert.equal(skipped.attempts, 0, "no connection was tried");
    assert.match(skipped.error ?? "", /^skipped: database:acme\/shop\/production failed 5 times in a row; its circuit breaker is open until /);
    assert.ok(tookMs < 1000, `failed fast (${Math.round(tookMs)} ms)`);
    const [state] = (await breakerStates(t.store.pool)).filter((b) => b.destination === destination);
    assert.ok(state.openUntil, "open");
    assert.equal(state.failures, FAILURE_THRESHOLD);
    assert.equal(state.skipped, 1);
  });

  test("the scan's read of query performance is skipped too while it is open", async () => {
    const insights = await gatherInsights(t.store.pool, { repo: "acme/shop", databaseUrl: targetUrl, databaseBreaker: destination, env: {} });
    assert.equal(insights.queryPerformance, undefined, "not read");
    const [state] = (await breakerStates(t.store.pool)).filter((b) => b.destination === destination);
    assert.equal(state.skipped, 2);
  });

  test("/metrics and status name it by repository and environment, never by its connection string", async () => {
    const { body } = await renderMetrics(t.store.pool);
    assert.match(body, /^autopilot_circuit_breaker_open\{destination="database:acme\/shop\/production"\} 1$/m);
    assert.match(body, /^autopilot_circuit_breaker_skipped_total\{destination="database:acme\/shop\/production"\} 2$/m);
    for (const secret of secrets()) assert.ok(!body.includes(secret), "no connection string in /metrics");
    assert.doesNotMatch(body, new RegExp(`destination="[^"]*:${port}`), "named by the target, not its address");
    const open = await openBreakersOf(t.store.pool, [], [destination]);
    const status = renderStatus([{ environment: "production", openBreakers: open }]);
    assert.match(status, /- \*\*production\*\*: `database:acme\/shop\/production` failed 5 times in a row; calls are skipped until \d{4}-/);
    for (const secret of secrets()) assert.ok(!status.includes(secret), "no connection detail in status");
    for (const b of await breakerStates(t.store.pool))
      for (const secret of secrets()) assert.ok(!(b.lastError ?? "").includes(secret), "nor in the recorded error");
  });

  test("once the open minute is over and the database is back, the trial probe closes it", async () => {
    proxy = await proxyTo(port, new URL(t.store.url));
    // The minute passes (the breaker's clock is the store's).
    await t.store.pool.query(`update circuit_breakers set open_until = now() - interval '1 second' where destination = $1`, [destination]);
    const result = await probe();
    assert.equal(result.status, "healthy", result.error);
    const [state] = (await breakerStates(t.store.pool)).filter((b) => b.destination === destination);
    assert.equal(state.failures, 0);
    assert.equal(state.openUntil, null, "closed");
    const next = await probe();
    assert.equal(next.attempts, 1, "probes connect again");
  });
});
