// The circuit breaker per health URL host, on real parts: a real store keeps its state, the sites are
// local HTTP servers that hang, reset, or answer what they are told, and the requests that reach
// them are counted.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { bindBreakerStore, breakerStates, FAILURE_THRESHOLD, healthHostDestination, openBreakersOf } from "../src/breakers.js";
import { DEFAULT_HEALTH_LIMITS, healthSchemaWithin, type HealthConfig } from "../src/config/health-config.js";
import { probeConfiguredCheck } from "../src/health/configured-probe.js";
import { withRetries } from "../src/health/probe-runner.js";
import { renderStatus } from "../src/report/status-report.js";
import { renderMetrics } from "../src/web/metrics.js";
import { useTestStore } from "./harness/test-store.js";

type Behaviour = "hang" | "reset" | number;

/** A site on 127.0.0.1 that behaves as told; `connections` counts every connection made to it. */
class Site {
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: http.Server,
    public behaviour: Behaviour,
  ) {}

  static async start(behaviour: Behaviour): Promise<Site> {
    const server = http.createServer();
    const site = new Site(server, behaviour);
    server.on("connection", (socket) => {
      site.connections++;
      site.sockets.add(socket);
      socket.on("close", () => site.sockets.delete(socket));
      if (site.behaviour === "reset") socket.resetAndDestroy();
    });
    server.on("request", (_req, res) => {
      if (typeof site.behaviour === "number") res.writeHead(site.behaviour, { "content-type": "text/plain" }).end("status page");
      // "hang": never answers; the probe's deadline ends it.
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return site;
  }

  get host(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const POLICY = { allowHosts: ["127.0.0.1"] };
const TOKEN = "s3cr3t-query-t0ken";

function healthOf(checks: Array<{ name: string; url: string; body_contains?: string }>): HealthConfig {
  return healthSchemaWithin(DEFAULT_HEALTH_LIMITS).parse({ retries: 0, checks: checks.map((c) => ({ timeout_ms: 300, ...c })) });
}

/** One probe of the config's check `name`, as the heal cycle and verification make it. */
function probe(health: HealthConfig, name = health.checks[0].name) {
  return probeConfiguredCheck(
    health.checks.find((c) => c.name === name)!,
    health,
    POLICY,
  );
}

describe("circuit breaker per health URL host", () => {
  const t = useTestStore("health_breaker");
  const sites: Site[] = [];
  const start = async (behaviour: Behaviour) => {
    const site = await Site.start(behaviour);
    sites.push(site);
    return site;
  };
  const stateOf = async (destination: string) => (await breakerStates(t.store.pool)).find((b) => b.destination === destination);
  before(() => bindBreakerStore(t.store.pool));
  after(async () => {
    bindBreakerStore(undefined);
    for (const site of sites) await site.close();
  });

  test("the destination is the URL's host and port only: no path, query or credentials", () => {
    assert.equal(healthHostDestination(`https://ops:pa55word@Status.Example.com:8443/health?token=${TOKEN}#x`), "health:status.example.com:8443");
    assert.equal(healthHostDestination("https://status.example.com:443/a"), "health:status.example.com", "a default port is left out");
    assert.equal(healthHostDestination("http://[::1]:8080/"), "health:[::1]:8080");
    assert.equal(healthHostDestination("not a url"), "health:invalid-url");
  });

  describe("a host that stops answering", () => {
    let site: Site;
    let shop: HealthConfig;
    let blog: HealthConfig;
    let destination: string;
    before(async () => {
      site = await start("hang");
      destination = `health:${site.host}`;
      // Two repositories whose checks share one status server.
      shop = healthOf([{ name: "site", url: `http://${site.host}/shop/health?token=${TOKEN}` }]);
      blog = healthOf([{ name: "blog", url: `http://${site.host}/blog` }]);
    });

    test("5 failed probes open its breaker; the 6th requests nothing and is recorded down, skipped", async () => {
      for (let i = 0; i < FAILURE_THRESHOLD; i++) {
        const result = await probe(shop);
        assert.equal(result.status, "unhealthy");
        assert.equal(result.error, "timed out after 300 ms");
        assert.equal(result.attempts, 1);
      }
      assert.equal(site.connections, FAILURE_THRESHOLD);
      const skipped = await probe(shop);
      assert.equal(site.connections, FAILURE_THRESHOLD, "no request was made");
      assert.equal(skipped.status, "unhealthy");
      assert.equal(skipped.attempts, 0);
      assert.match(skipped.error!, new RegExp(`^skipped: circuit breaker for 127\\.0\\.0\\.1:\\d+ open until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));
      assert.ok(skipped.error!.includes(site.host));
      const state = await stateOf(destination);
      assert.ok(state?.openUntil, "open");
      assert.equal(state.failures, FAILURE_THRESHOLD);
      assert.equal(state.skipped, 1);
    });

    test("a skipped probe is not retried: the retries would be skipped too", async () => {
      const started = Date.now();
      const result = await withRetries(() => probe(shop), [5_000, 5_000]);
      assert.equal(result.attempts, 0);
      assert.ok(Date.now() - started < 4_000, "no retry delay was waited");
      assert.equal((await stateOf(destination))?.skipped, 2);
    });

    test("another repository's check on the same host shares the breaker", async () => {
      const result = await probe(blog);
      assert.equal(result.attempts, 0);
      assert.match(result.error!, /^skipped: circuit breaker for /);
      assert.equal(site.connections, FAILURE_THRESHOLD);
      assert.equal((await stateOf(destination))?.skipped, 3);
    });

    test("/metrics and status name the host, never the URL, its path or its token", async () => {
      const { body } = await renderMetrics(t.store.pool);
      assert.match(body, new RegExp(`^autopilot_circuit_breaker_open\\{destination="health:${site.host}"\\} 1$`, "m"));
      assert.match(body, new RegExp(`^autopilot_circuit_breaker_skipped_total\\{destination="health:${site.host}"\\} 3$`, "m"));
      const open = await openBreakersOf(t.store.pool, [], [healthHostDestination(shop.checks[0].url)]);
      const status = renderStatus([{ environment: "production", openBreakers: open }]);
      assert.match(status, new RegExp(`- \\*\\*production\\*\\*: \`health:${site.host}\` failed 5 times in a row; calls are skipped until \\d{4}-`));
      const recorded = JSON.stringify(await breakerStates(t.store.pool));
      for (const text of [body, status, recorded, JSON.stringify(await probe(shop))]) {
        assert.ok(!text.includes(TOKEN), "no token");
        assert.ok(!text.includes("/shop/health"), "no path");
      }
    });

    test("after the open period the first probe is the trial: a healthy answer closes it for every check on the host", async () => {
      site.behaviour = 200;
      // The minute passes (the breaker's clock is the store's).
      await t.store.pool.query(`update circuit_breakers set open_until = now() - interval '1 second' where destination = $1`, [destination]);
      const trial = await probe(shop);
      assert.equal(trial.status, "healthy", trial.error);
      assert.equal(trial.attempts, 1);
      const state = await stateOf(destination);
      assert.equal(state?.openUntil, null, "closed");
      assert.equal(state?.failures, 0);
      const other = await probe(blog);
      assert.equal(other.status, "healthy");
      assert.equal(site.connections, FAILURE_THRESHOLD + 2);
    });

    test("a failed trial reopens it at once, for twice as long", async () => {
      site.behaviour = "reset";
      await t.store.pool.query(`update circuit_breakers set failures = $2, opens = 1, open_until = now() - interval '1 second' where destination = $1`, [
        destination,
        FAILURE_THRESHOLD,
      ]);
      const trial = await probe(shop);
      assert.equal(trial.attempts, 1);
      assert.match(trial.error!, /ECONNRESET|socket hang up/);
      const { rows } = await t.store.pool.query(`select extract(epoch from open_until - updated_at) as seconds from circuit_breakers where destination = $1`, [
        destination,
      ]);
      assert.ok(Math.abs(Number(rows[0].seconds) - 120) < 2, `open for 2 min (${rows[0].seconds} s)`);
      assert.equal((await probe(blog)).attempts, 0);
    });
  });

  test("a refused connection counts as a failure; a 5xx is the host answering and never opens it", async () => {
    const site = await start(503);
    const health = healthOf([{ name: "api", url: `http://${site.host}/api` }]);
    for (let i = 0; i < FAILURE_THRESHOLD + 2; i++) assert.equal((await probe(health)).httpStatus, 503, "still probed: the breaker stays closed");
    assert.equal(site.connections, FAILURE_THRESHOLD + 2);
    assert.equal((await stateOf(`health:${site.host}`))?.failures ?? 0, 0);

    const closed = await start(200);
    const host = closed.host;
    await closed.close();
    const refused = healthOf([{ name: "gone", url: `http://${host}/` }]);
    for (let i = 0; i < FAILURE_THRESHOLD; i++) assert.match((await probe(refused)).error!, /ECONNREFUSED/);
    assert.equal((await probe(refused)).attempts, 0);
    assert.equal((await stateOf(`health:${host}`))?.failures, FAILURE_THRESHOLD);
  });

  test("a 404 or a body without the expected text is the site answering: never a breaker failure", async () => {
    const site = await start(404);
    const health = healthOf([
      { name: "missing", url: `http://${site.host}/missing` },
      { name: "wrong-page", url: `http://${site.host}/`, body_contains: "all systems operational" },
    ]);
    const rounds = FAILURE_THRESHOLD + 2;
    for (let i = 0; i < rounds; i++) {
      const missing = await probe(health, "missing");
      assert.deepEqual([missing.status, missing.httpStatus, missing.attempts], ["unhealthy", 404, 1]);
    }
    site.behaviour = 200;
    for (let i = 0; i < rounds; i++) {
      const wrong = await probe(health, "wrong-page");
      assert.deepEqual([wrong.status, wrong.attempts], ["unhealthy", 1]);
      assert.match(wrong.error!, /does not contain "all systems operational"/);
    }
    assert.equal(site.connections, 2 * rounds, "every probe was made");
    assert.equal(await stateOf(`health:${site.host}`), undefined, "nothing counted");
  });
});
