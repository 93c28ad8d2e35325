// HTTP and database probes, retries and the bounded runner, against real servers on 127.0.0.1
// (allowed through the SSRF guard by the policy) and a real PostgreSQL.
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { probeDatabase } from "../src/health/db-probe.js";
import type { CheckResult } from "../src/health/check-result.js";
import { probeHttp, type HttpCheck } from "../src/health/http-probe.js";
import { runAll, withRetries } from "../src/health/probe-runner.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";

const LOOPBACK = { policy: { allowHosts: ["127.0.0.1"] } };

interface TestServer {
  base: string;
  port: number;
  hits: string[];
  close(): void;
}

async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.on("error", () => {}); // the probe may hang up mid-body on purpose
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function probe(check: Partial<HttpCheck> & { url: string }, extra: Partial<Parameters<typeof probeHttp>[1]> = {}): Promise<CheckResult> {
  return probeHttp({ name: "site", ...check }, { ...LOOPBACK, ...extra });
}

describe("probeHttp", () => {
  let server: TestServer;
  const hangingSockets: Array<{ closed: boolean }> = [];
  const bigBody = { bytesWritten: 0, finished: false };

  before(async () => {
    server = await startServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const path = url.pathname;
      if (path === "/ok") return res.end("all good: version 42");
      if (path.startsWith("/status/")) return res.writeHead(Number(path.slice(8))).end("status page");
      if (path === "/method") return res.end(`method=${req.method}`);
      if (path === "/slow") return void setTimeout(() => res.end("slow but fine"), 120);
      if (path === "/slow-body") {
        res.writeHead(200).write("head…");
        return void setTimeout(() => res.end("…tail"), 150);
      }
      if (path === "/hang") {
        const state = { closed: false };
        hangingSockets.push(state);
        req.socket.once("close", () => (state.closed = true));
        return; // never answers
      }
      if (path === "/big") return streamBigBody(res);
      if (path === "/endless") return void res.writeHead(200).write("started, never finished");
      if (path.startsWith("/chain/")) {
        const left = Number(path.slice(7));
        return res.writeHead(302, { location: left > 0 ? `/chain/${left - 1}` : "/ok" }).end();
      }
      if (path === "/loop-a") return res.writeHead(301, { location: "/loop-b" }).end();
      if (path === "/loop-b") return res.writeHead(301, { location: `${server.base}/loop-a` }).end();
      if (path === "/to") return res.writeHead(307, { location: url.searchParams.get("target") ?? "/" }).end();
      if (path === "/see-other") return res.writeHead(303, { location: "/method" }).end();
      res.writeHead(404).end("not found");
    });
  });
  after(() => server.close());

  /** 10 MB, written as the client reads (backpressure), with the needle at the start. */
  function streamBigBody(res: http.ServerResponse): void {
    const chunk = Buffer.alloc(64 * 1024, "x");
    const total = 10 * 1024 * 1024;
    res.writeHead(200, { "content-length": String(total) });
    res.write("needle");
    bigBody.bytesWritten = 6;
    const pump = () => {
      while (bigBody.bytesWritten + chunk.length <= total && !res.destroyed) {
        bigBody.bytesWritten += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      if (!res.destroyed) res.end(Buffer.alloc(total - bigBody.bytesWritten, "x"), () => (bigBody.finished = true));
    };
    pump();
  }

  test("a 200 answer is healthy, with status, latency and one attempt", async () => {
    const result = await probe({ url: `${server.base}/ok` });
    assert.equal(result.status, "healthy");
    assert.equal(result.kind, "http");
    assert.equal(result.check, "site");
    assert.equal(result.httpStatus, 200);
    assert.equal(result.attempts, 1);
    assert.equal(result.error, undefined);
    assert.ok(result.latencyMs >= 0 && result.latencyMs < 2000);
  });

  test("a status outside the default 200–399 is unhealthy", async () => {
    const result = await probe({ url: `${server.base}/status/503` });
    assert.equal(result.status, "unhealthy");
    assert.equal(result.httpStatus, 503);
    assert.equal(result.error, "expected status 200–399, got 503");
    assert.equal((await probe({ url: `${server.base}/status/404` })).status, "unhealthy");
    assert.equal((await probe({ url: `${server.base}/status/304` })).status, "healthy");
  });

  test("a custom expected status, exact or a range", async () => {
    assert.equal((await probe({ url: `${server.base}/status/404`, expectStatus: 404 })).status, "healthy");
    const exact = await probe({ url: `${server.base}/status/204`, expectStatus: 200 });
    assert.equal(exact.status, "unhealthy");
    assert.equal(exact.error, "expected status 200, got 204");
    const range = { min: 200, max: 204 };
    assert.equal((await probe({ url: `${server.base}/status/204`, expectStatus: range })).status, "healthy");
    const outside = await probe({ url: `${server.base}/status/205`, expectStatus: range });
    assert.equal(outside.status, "unhealthy");
    assert.equal(outside.error, "expected status 200–204, got 205");
  });

  test("bodyContains: found is healthy, missing is unhealthy and says what was looked for", async () => {
    assert.equal((await probe({ url: `${server.base}/ok`, bodyContains: "version 42" })).status, "healthy");
    const missing = await probe({ url: `${server.base}/ok`, bodyContains: "version 43" });
    assert.equal(missing.status, "unhealthy");
    assert.equal(missing.httpStatus, 200);
    assert.equal(missing.error, 'the body does not contain "version 43"');
  });

  test("HEAD and POST are sent as asked", async () => {
    const head = await probe({ url: `${server.base}/method`, method: "HEAD" });
    assert.equal(head.status, "healthy");
    assert.equal(server.hits.at(-1), "HEAD /method");
    const post = await probe({ url: `${server.base}/method`, method: "POST", bodyContains: "method=POST" });
    assert.equal(post.status, "healthy", post.error);
  });

  test("healthy but slower than degradedMs is degraded", async () => {
    const result = await probe({ url: `${server.base}/slow` }, { degradedMs: 30 });
    assert.equal(result.status, "degraded");
    assert.equal(result.httpStatus, 200);
    assert.ok(result.latencyMs >= 100, `latency ${result.latencyMs}`);
    assert.match(result.detail ?? "", /slower than 30 ms/);
    assert.equal((await probe({ url: `${server.base}/slow` })).status, "healthy");
  });

  test("latency runs to the end of the body, not to the headers", async () => {
    const result = await probe({ url: `${server.base}/slow-body`, bodyContains: "tail" });
    assert.equal(result.status, "healthy", result.error);
    assert.ok(result.latencyMs >= 140, `latency ${result.latencyMs}`);
  });

  test("a server that hangs times out, and the socket is closed", async () => {
    const result = await probe({ url: `${server.base}/hang`, timeoutMs: 300 });
    assert.equal(result.status, "unhealthy");
    assert.equal(result.error, "timed out after 300 ms");
    assert.equal(result.httpStatus, undefined);
    assert.ok(result.latencyMs >= 290 && result.latencyMs < 1500, `latency ${result.latencyMs}`);
    await sleep(50);
    assert.equal(hangingSockets.at(-1)?.closed, true);
  });

  test("a body that never ends times out too: the deadline covers the read", async () => {
    const result = await probe({ url: `${server.base}/endless`, timeoutMs: 300 });
    assert.equal(result.status, "unhealthy");
    assert.equal(result.error, "timed out after 300 ms");
  });

  test("a 10 MB answer is cut at maxBodyBytes: the status decides, the rest is never read", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const result = await probe({ url: `${server.base}/big`, bodyContains: "needle" });
    assert.equal(result.status, "healthy", result.error);
    assert.match(result.detail ?? "", /body cut at 1048576 bytes/);
    await sleep(50);
    assert.equal(bigBody.finished, false, "the server could not finish: the probe hung up");
    assert.ok(bigBody.bytesWritten < 10 * 1024 * 1024);
    assert.ok(process.memoryUsage().arrayBuffers - before < 8 * 1024 * 1024, "the body was not buffered");
    assert.equal((await probe({ url: `${server.base}/big` })).status, "healthy");
  });

  test("text past the cut counts as missing, and the error says only part was read", async () => {
    const result = await probe({ url: `${server.base}/big`, bodyContains: "needle-at-the-end" }, { maxBodyBytes: 1000 });
    assert.equal(result.status, "unhealthy");
    assert.equal(result.error, 'the first 1000 bytes of the body does not contain "needle-at-the-end"');
  });

  test("redirects are followed up to 3 times", async () => {
    const result = await probe({ url: `${server.base}/chain/2`, bodyContains: "version 42" });
    assert.equal(result.status, "healthy", result.error);
    assert.equal(result.httpStatus, 200);
    assert.equal(result.detail, "followed 3 redirects");
  });

  test("a 4th redirect is too many", async () => {
    const result = await probe({ url: `${server.base}/chain/3` });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /^too many redirects/);
  });

  test("a redirect loop is too many redirects, found without going round", async () => {
    const hitsBefore = server.hits.length;
    const result = await probe({ url: `${server.base}/loop-a` });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /^too many redirects \(loop back to .*\/loop-a\)/);
    assert.equal(server.hits.length - hitsBefore, 2);
  });

  test("303 after POST is followed with GET", async () => {
    const result = await probe({ url: `${server.base}/see-other`, method: "POST", bodyContains: "method=GET" });
    assert.equal(result.status, "healthy", result.error);
  });

  test("a redirect from an allowed host to a private address is refused", async () => {
    const metadata = await probe({ url: `${server.base}/to?target=${encodeURIComponent("http://169.254.169.254/latest/meta-data/")}` });
    assert.equal(metadata.status, "unhealthy");
    assert.match(metadata.error ?? "", /^redirect to http:\/\/169\.254\.169\.254\/latest\/meta-data\/ refused: .*link-local/);

    // By name: only the resolved address shows it is loopback, and the guard must catch it then.
    const hitsBefore = server.hits.length;
    const byName = await probe({ url: `${server.base}/to?target=${encodeURIComponent(`http://localhost:${server.port}/ok`)}` });
    assert.equal(byName.status, "unhealthy");
    assert.match(
      byName.error ?? "",
      /^redirect to http:\/\/localhost:\d+\/ok failed: refused: localhost resolves to 127\.0\.0\.1, which is not a public address \(loopback\)/,
    );
    assert.equal(server.hits.length - hitsBefore, 1, "only the redirecting request reached the server");
  });

  test("credentials in a redirect are refused and never shown", async () => {
    const result = await probe({ url: `${server.base}/to?target=${encodeURIComponent("http://admin:hunter2secret@127.0.0.1/")}` });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /credentials in the URL are not allowed/);
    assert.doesNotMatch(result.error ?? "", /hunter2secret/);
  });

  test("a DNS failure is unhealthy with the resolver's message", async () => {
    const result = await probe({ url: "http://no-such-host.invalid/health" });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /no-such-host\.invalid/);
    assert.match(result.error ?? "", /ENOTFOUND|EAI_AGAIN|getaddrinfo/);
  });

  test("an invalid URL is unhealthy, and so is a scheme other than http(s)", async () => {
    for (const url of ["http//missing-colon", "", "http://"]) {
      const result = await probe({ url });
      assert.equal(result.status, "unhealthy");
      assert.equal(result.error, "invalid URL", url);
    }
    assert.match((await probe({ url: "file:///etc/passwd" })).error ?? "", /only http and https/);
  });

  test("a closed port is unhealthy with the connection error", async () => {
    const port = await freePort();
    const result = await probe({ url: `http://127.0.0.1:${port}/` });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /ECONNREFUSED/);
  });
});

describe("probeDatabase", () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase("health");
    await query(
      db.url,
      `create table users (id int); insert into users values (1), (2), (3);
      create schema app; create table app.items (id int); insert into app.items values (1), (2);
      create table "Mixed Case" (id int); insert into "Mixed Case" values (1);`,
    );
  });
  after(() => db?.drop());

  test("healthy, with the row counts of named tables (plain, schema-qualified, needing quotes)", async () => {
    const result = await probeDatabase({ name: "db", databaseUrl: db.url, tableCounts: ["users", "app.items", "Mixed Case"] });
    assert.equal(result.status, "healthy", result.error);
    assert.equal(result.kind, "database");
    assert.equal(result.check, "db");
    assert.equal(result.attempts, 1);
    assert.equal(result.detail, "users=3; app.items=2; Mixed Case=1");
  });

  test("without table counts: connect and select 1", async () => {
    const result = await probeDatabase({ name: "db", databaseUrl: db.url });
    assert.equal(result.status, "healthy");
    assert.equal(result.detail, undefined);
    assert.equal((await probeDatabase({ name: "db", databaseUrl: db.url, degradedMs: -1 })).status, "degraded");
  });

  test("a wrong table name says which and why; the others are still counted; nothing is injected", async () => {
    const result = await probeDatabase({ name: "db", databaseUrl: db.url, tableCounts: ["users", "userz", "users; drop table users", "a.b.c"] });
    assert.equal(result.status, "degraded");
    assert.match(result.error ?? "", /cannot count userz: relation "userz" does not exist/);
    assert.match(
      result.detail ?? "",
      /^users=3; userz: relation "userz" does not exist; users; drop table users: relation "users; drop table users" does not exist; a\.b\.c: invalid table name/,
    );
    assert.deepEqual(await query(db.url, "select count(*)::int as n from users"), [{ n: 3 }]);
  });

  test("a database that is down is unhealthy, and the password never shows", async () => {
    const port = await freePort();
    const databaseUrl = `postgres://autopilot:pl41nw0rdpass@127.0.0.1:${port}/shop`;
    const result = await probeDatabase({ name: "db", databaseUrl, timeoutMs: 2000 });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /ECONNREFUSED/);
    assert.doesNotMatch(JSON.stringify(result), /pl41nw0rdpass/);
  });

  test("a database that does not exist is unhealthy with the server's message", async () => {
    const url = new URL(db.url);
    url.pathname = "/no_such_database_here";
    const result = await probeDatabase({ name: "db", databaseUrl: url.toString() });
    assert.equal(result.status, "unhealthy");
    assert.match(result.error ?? "", /database "no_such_database_here" does not exist/);
  });

  test("a malformed connection string is unhealthy, not a throw", async () => {
    const result = await probeDatabase({ name: "db", databaseUrl: "postgres://u:secretword@[bad/db" });
    assert.equal(result.status, "unhealthy");
    assert.doesNotMatch(JSON.stringify(result), /secretword/);
  });
});

describe("withRetries", () => {
  const result = (status: CheckResult["status"]): CheckResult => ({ check: "c", kind: "http", status, latencyMs: 1, attempts: 1 });

  test("retries while unhealthy and counts the attempts", async () => {
    const statuses: Array<CheckResult["status"]> = ["unhealthy", "unhealthy", "healthy"];
    let calls = 0;
    const final = await withRetries(async () => result(statuses[calls++]), [0, 0, 0]);
    assert.equal(final.status, "healthy");
    assert.equal(final.attempts, 3);
    assert.equal(calls, 3);
  });

  test("gives up after delaysMs.length retries, waiting between them", async () => {
    let calls = 0;
    const started = Date.now();
    const final = await withRetries(async () => (calls++, result("unhealthy")), [40, 40]);
    assert.equal(final.status, "unhealthy");
    assert.equal(final.attempts, 3);
    assert.equal(calls, 3);
    assert.ok(Date.now() - started >= 75);
  });

  test("a healthy or degraded first answer stops at once", async () => {
    for (const status of ["healthy", "degraded"] as const) {
      let calls = 0;
      const final = await withRetries(async () => (calls++, result(status)), [10_000]);
      assert.equal(final.attempts, 1);
      assert.equal(calls, 1);
    }
  });

  test("no delays: one attempt", async () => {
    assert.equal((await withRetries(async () => result("unhealthy"), [])).attempts, 1);
  });

  test("with real probes: a server that recovers on the second try", async () => {
    let served = 0;
    const server = await startServer((_req, res) => res.writeHead(served++ === 0 ? 503 : 200).end());
    try {
      const final = await withRetries(() => probeHttp({ name: "s", url: `${server.base}/` }, LOOPBACK), [10, 10]);
      assert.equal(final.status, "healthy");
      assert.equal(final.attempts, 2);
    } finally {
      server.close();
    }
  });
});

describe("runAll", () => {
  test("never runs more than `concurrency` at once, and keeps the order", async () => {
    let inFlight = 0;
    let peak = 0;
    const tasks = Array.from({ length: 25 }, (_, i) => async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(5 + ((i * 7) % 11));
      inFlight--;
      return i;
    });
    const results = await runAll(tasks, 4);
    assert.deepEqual(
      results,
      Array.from({ length: 25 }, (_, i) => i),
    );
    assert.equal(peak, 4);
  });

  test("fewer tasks than the bound, none at all, and the default bound", async () => {
    assert.deepEqual(await runAll([async () => "a", async () => "b"], 64), ["a", "b"]);
    assert.deepEqual(await runAll([]), []);
    let inFlight = 0;
    let peak = 0;
    await runAll(
      Array.from({ length: 100 }, () => async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await sleep(5);
        inFlight--;
      }),
    );
    assert.equal(peak, 64);
  });

  test("a task that throws rejects the run and no new task starts", async () => {
    const started: number[] = [];
    const tasks = Array.from({ length: 10 }, (_, i) => async () => {
      started.push(i);
      await sleep(5);
      if (i === 1) throw new Error("boom");
      return i;
    });
    await assert.rejects(runAll(tasks, 2), /boom/);
    assert.ok(started.length < 10, `started ${started.length}`);
  });
});
