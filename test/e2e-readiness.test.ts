// GET /readyz as a load balancer's readiness probe sees it: a replica that runs the scheduler is not
// ready until its first discovery round has read the repositories' configs (a slow GitHub keeps it
// starting, while /healthz already says the process is up); a web replica, with no discovery, is ready
// at once; a store that does not answer makes it unready.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { REPO, Scenario } from "./harness/scenario.js";
import { waitFor, type RunningApp } from "./harness/app-process.js";
import { Readiness, readyzHandler } from "../src/web/readiness.js";

const SLOW_CONFIG_MS = 2_500;

async function probe(url: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("readiness (GET /readyz)", () => {
  let s: Scenario;
  const replicas: RunningApp[] = [];
  before(async () => {
    // The first replica's own discovery does not come back within the test.
    s = await Scenario.start({ serverExtra: "health:\n  discovery_seconds: 3600" });
    // Up is not warm: its first discovery may still be reading (and would take the slow answer below).
    await waitFor("the first replica ready", async () => ((await probe(s.app.url, "/readyz")).status === 200 ? true : undefined));
  });
  after(async () => {
    for (const replica of replicas) await replica.stop();
    await s.stop();
  });

  test("a replica is starting until its first discovery has read the config, though healthy meanwhile", async () => {
    const configPath = new RegExp(`^/repos/${REPO}/contents/\\.github`);
    s.github.answerLate("GET", configPath, SLOW_CONFIG_MS);
    const startedAt = performance.now();
    const replica = await s.startAnotherApp({ serverExtra: "health:\n  discovery_seconds: 3600" });
    replicas.push(replica);

    assert.equal((await probe(replica.url, "/healthz")).status, 200, "the process is up");
    const starting = await probe(replica.url, "/readyz");
    assert.deepEqual(starting, { status: 503, body: { status: "starting", waitingFor: ["configs"] } });

    await waitFor("the second replica ready", async () => ((await probe(replica.url, "/readyz")).status === 200 ? true : undefined));
    const readyAt = performance.now();
    const reads = s.github.requests.filter((r) => r.receivedAt >= startedAt && configPath.test(r.path));
    assert.ok(reads.length >= 1, "the config was read");
    assert.ok(
      readyAt - reads[0].receivedAt >= SLOW_CONFIG_MS - 100,
      `ready only after GitHub answered the slow read: ${JSON.stringify(reads.map((r) => [r.path, r.status, r.receivedAt - startedAt]))} ready at ${readyAt - startedAt}`,
    );
    assert.deepEqual((await probe(replica.url, "/readyz")).body, { status: "ready" });
  });

  test("a web replica has no discovery to wait for: ready as soon as it is up", async () => {
    const web = await s.startAnotherApp({ env: { AUTOPILOT_ROLE: "web" } });
    replicas.push(web);
    assert.deepEqual(await probe(web.url, "/readyz"), { status: 200, body: { status: "ready" } });
  });

  test("a warmed replica whose store does not answer is not ready", async () => {
    // Nothing listens on port 1: the store is down.
    const store = new pg.Pool({ connectionString: "postgres://autopilot@127.0.0.1:1/store", connectionTimeoutMillis: 500 });
    const readiness = new Readiness(["configs"]);
    const handle = readyzHandler(store, readiness);
    const server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await probe(url, "/readyz")).status, 503);
      readiness.done("configs");
      assert.deepEqual(await probe(url, "/readyz"), { status: 503, body: { status: "store unavailable" } });
    } finally {
      server.close();
      await store.end();
    }
  });
});
