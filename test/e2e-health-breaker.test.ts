// The health URL host's circuit breaker as a monitoring user lives it, through the real app: a status
// server that hangs opens it, later cycles request nothing yet record the check down (so the incident
// stays open and uptime counts the outage), /metrics and `/autopilot status` name the host, and once
// the open period is over a healthy server closes it and the incident.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { REPO, Scenario } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";

const SERVER_HEALTH = "health:\n  allow_hosts: ['127.0.0.1']\n  discovery_seconds: 1\n  min_schedule_seconds: 1";
const METRICS_TOKEN = "metrics-token-for-breaker-tests";
/** A token in the check's query string: it must never show in a destination, a log or a reply. */
const QUERY_TOKEN = "qt0ken-5ecret-in-the-query";

function healthConfig(siteUrl: string): string {
  return [
    "health:",
    '  schedule: "*/2 * * * * *"',
    '  scan_schedule: "0 0 1 1 *"',
    "  retries: 0",
    "  recovery_wait_seconds: 0.5",
    "  recovery_successes: 2",
    "  checks:",
    `    - { name: site, url: "${siteUrl}/health?token=${QUERY_TOKEN}", timeout_ms: 500 }`,
  ].join("\n");
}

const incident = (s: Scenario) => s.github.issues(REPO).find((i) => i.body?.includes("<!-- autopilot:incident acme/shop site -->"));
const SKIPPED = "skipped: circuit breaker for %";

describe("circuit breaker of a health URL host, through the heal cycle", () => {
  let s: Scenario;
  let site: Server;
  let host: string;
  let mode: "hang" | "up" = "hang";
  /** Requests that reached the status server. */
  let requests = 0;
  /** Requests made until the breaker opened. */
  let beforeOpen = 0;
  const hanging = new Set<ServerResponse>();

  before(async () => {
    site = createServer((_req, res) => {
      requests++;
      if (mode === "up") res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      else hanging.add(res);
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(site.address() as AddressInfo).port}`;
    s = await Scenario.start({ serverExtra: SERVER_HEALTH, env: { AUTOPILOT_METRICS_TOKEN: METRICS_TOKEN } });
    s.github.setPermission(REPO, "ada", "admin");
    const sha = await s.push({ ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": healthConfig(`http://${host}`) });
    await s.completedCheckRun(sha);
  });
  after(async () => {
    await s.stop();
    for (const res of hanging) res.destroy();
    site.closeAllConnections();
    await new Promise((resolve) => site.close(resolve));
  });

  test("after 5 timeouts the cycles request nothing, record the check down as skipped, still heal, and the incident stays open", async () => {
    const [first] = await waitFor(
      "a probe skipped by the breaker",
      async () => {
        const rows = await s.storeQuery("select id, status, error from health_log where check_name = 'site' and error like $1 order by id", [SKIPPED]);
        return rows.length ? rows : undefined;
      },
      60_000,
    );
    assert.equal(first.status, "unhealthy");
    assert.match(first.error, new RegExp(`^skipped: circuit breaker for ${host.replace(/\./g, "\\.")} open until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));
    // The release's verification probes the site too, through the same breaker. A probe of one caller
    // may already be in flight when the other's fifth timeout opens it: 5 requests, or 6 with that one.
    beforeOpen = requests;
    assert.ok(beforeOpen === 5 || beforeOpen === 6, `five probes timed out before it opened (${beforeOpen} requests)`);
    const timeouts = await s.storeQuery("select count(*)::int as n from health_log where check_name = 'site' and error = 'timed out after 500 ms'");
    assert.ok(timeouts[0].n >= 1 && timeouts[0].n <= 5);
    assert.equal(incident(s)?.state, "open", "the incident opened on the timeouts");
    const hooks = s.deployHook.requests.length;

    await s.moreRunsFinished("heal", 2);
    assert.equal(requests, beforeOpen, "no request while the breaker is open");
    const skipped = await s.storeQuery("select status from health_log where check_name = 'site' and error like $1", [SKIPPED]);
    assert.ok(skipped.length >= 3, `each cycle records the check (${skipped.length} skipped rows)`);
    assert.ok(
      skipped.every((r) => r.status === "unhealthy"),
      "recorded down: uptime counts the outage",
    );
    assert.equal(incident(s)?.state, "open", "still open");
    assert.ok(s.deployHook.requests.length > hooks, "heal still calls the deploy hook for a check that is down");
  });

  test("/metrics and /autopilot status name the host's breaker, never the check's URL or its token", async () => {
    const response = await fetch(`${s.app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const metrics = await response.text();
    assert.match(metrics, new RegExp(`^autopilot_circuit_breaker_open\\{destination="health:${host}"\\} 1$`, "m"));
    const id = await s.comment("/autopilot status", { login: "ada" });
    const { reply } = await s.answered(1, id, 30_000);
    assert.match(
      reply,
      new RegExp(`\\*\\*Circuit breakers open\\*\\*\\n\\n- \\*\\*production\\*\\*: \`health:${host}\` failed [56] times in a row; calls are skipped until`),
    );
    const logged = await s.storeQuery("select error from health_log union all select last_error from circuit_breakers");
    for (const text of [metrics, reply, s.app.output(), JSON.stringify(logged), s.everythingSent()]) {
      assert.ok(!text.includes(QUERY_TOKEN), "the query's token never shows");
    }
  });

  test("after the open period the first probe is the trial: the site is back, the breaker closes, the incident closes", async () => {
    mode = "up";
    // The minute passes (the breaker's clock is the store's); repeated in case a cycle was mid-way.
    await waitFor(
      "the incident closed",
      async () => {
        await s.storeQuery("update circuit_breakers set open_until = now() where destination = $1 and open_until > now()", [`health:${host}`]);
        return incident(s)?.state === "closed" || undefined;
      },
      60_000,
    );
    const [breaker] = await s.storeQuery("select failures, open_until from circuit_breakers where destination = $1", [`health:${host}`]);
    assert.deepEqual(breaker, { failures: 0, open_until: null });
    assert.ok(requests > beforeOpen, "the site was asked again");
    assert.deepEqual(s.github.violations, [], "no request body GitHub would reject");
  });
});
