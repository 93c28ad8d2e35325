// Circuit breakers on outside destinations, and the deploy hook's retries: real HTTP to a local sink,
// the breakers' state in a real store.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BreakerOpen, bindBreakerStore, breakerStates, destinationOf, FAILURE_THRESHOLD, openBreakersOf, throughBreaker } from "../src/breakers.js";
import { triggerDeployHook } from "../src/report/deploy-hook.js";
import { notifySlack } from "../src/report/slack.js";
import { renderMetrics } from "../src/web/metrics.js";
import { renderStatus } from "../src/report/status-report.js";
import { FakeHttpSink } from "./harness/fake-http-sink.js";
import { useTestStore } from "./harness/test-store.js";

const secondsUntil = (d: Date | null) => (d ? (d.getTime() - Date.now()) / 1000 : NaN);

describe("circuit breakers", () => {
  const t = useTestStore("breakers");
  let sink: FakeHttpSink;
  before(async () => {
    sink = await FakeHttpSink.start({ status: 502 });
    bindBreakerStore(t.store.pool);
  });
  after(async () => {
    bindBreakerStore(undefined);
    await sink.close();
  });

  const sent = (path: string) => sink.requests.filter((r) => r.path === path).length;

  test("a destination's name keeps its host and never the URL's secret path", () => {
    const name = destinationOf("slack", "https://hooks.slack.com/services/T000/B000/s3cr3tT0ken");
    assert.match(name, /^slack:hooks\.slack\.com#[0-9a-f]{8}$/);
    assert.doesNotMatch(name, /s3cr3t/);
    assert.notEqual(name, destinationOf("slack", "https://hooks.slack.com/services/T000/B000/other"));
  });

  test("five failures in a row open the breaker for a minute: the sixth call is not made, and counted as skipped", async () => {
    const url = `${sink.url}/hook-a`;
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      const result = await triggerDeployHook(url, { n: i }, { retryDelaysMs: [] });
      assert.equal(result.ok, false);
      assert.equal(result.skipped, false);
    }
    assert.equal(sent("/hook-a"), FAILURE_THRESHOLD);
    const skipped = await triggerDeployHook(url, { n: 6 }, { retryDelaysMs: [] });
    assert.equal(skipped.skipped, true);
    assert.equal(skipped.attempts, 0);
    assert.match(skipped.error!, /circuit breaker is open until/);
    assert.equal(sent("/hook-a"), FAILURE_THRESHOLD, "the call was not made");
    const [state] = (await breakerStates(t.store.pool)).filter((b) => b.destination === destinationOf("deploy-hook", url));
    assert.ok(Math.abs(secondsUntil(state.openUntil) - 60) < 5, `open for a minute (${secondsUntil(state.openUntil)} s)`);
    assert.equal(state.skipped, 1);
    assert.equal(state.lastError, "HTTP 502");
  });

  test("after the open period one trial goes through: a failure reopens for twice as long (up to 30 min), a success closes", async () => {
    const url = `${sink.url}/hook-a`;
    const destination = destinationOf("deploy-hook", url);
    const expire = () => t.store.pool.query(`update circuit_breakers set open_until = now() - interval '1 second' where destination = $1`, [destination]);
    await expire();
    await triggerDeployHook(url, {}, { retryDelaysMs: [] });
    assert.equal(sent("/hook-a"), FAILURE_THRESHOLD + 1, "the trial call was made");
    let [state] = (await breakerStates(t.store.pool)).filter((b) => b.destination === destination);
    assert.ok(Math.abs(secondsUntil(state.openUntil) - 120) < 5, `reopened for two minutes (${secondsUntil(state.openUntil)} s)`);
    for (let i = 0; i < 6; i++) {
      await expire();
      await triggerDeployHook(url, {}, { retryDelaysMs: [] });
    }
    [state] = (await breakerStates(t.store.pool)).filter((b) => b.destination === destination);
    assert.ok(Math.abs(secondsUntil(state.openUntil) - 1800) < 5, `capped at 30 minutes (${secondsUntil(state.openUntil)} s)`);
    await expire();
    sink.setStatus(200);
    const ok = await triggerDeployHook(url, {}, { retryDelaysMs: [] });
    sink.setStatus(502);
    assert.equal(ok.ok, true);
    [state] = (await breakerStates(t.store.pool)).filter((b) => b.destination === destination);
    assert.equal(state.openUntil, null);
    assert.equal(state.failures, 0);
  });

  test("a failing deploy hook is retried before it counts as failed; a retry that succeeds makes it a success", async () => {
    const url = `${sink.url}/hook-b`;
    const failed = await triggerDeployHook(url, {}, { retryDelaysMs: [10, 10, 10] });
    assert.equal(failed.ok, false);
    assert.equal(failed.attempts, 4);
    assert.equal(sent("/hook-b"), 4);
    // A fresh hook: /hook-b has four failures in a row, and a fifth would open its breaker.
    const flipping = triggerDeployHook(`${sink.url}/hook-c`, {}, { retryDelaysMs: [300, 300, 300] });
    setTimeout(() => sink.setStatus(200), 150);
    const recovered = await flipping;
    sink.setStatus(502);
    assert.equal(recovered.ok, true);
    assert.equal(recovered.attempts, 2);
  });

  test("Slack through its breaker: once open, a notification is skipped with a reason and not sent", async () => {
    const url = `${sink.url}/services/T1/B1/slacktoken`;
    for (let i = 0; i < FAILURE_THRESHOLD; i++) assert.match((await notifySlack(url, "failure", "down", "details"))!, /Slack notification failed/);
    const reason = await notifySlack(url, "failure", "down", "details");
    assert.match(reason!, /^Slack notification skipped: slack:127\.0\.0\.1:\d+#[0-9a-f]{8} failed 5 times in a row/);
    assert.doesNotMatch(reason!, /slacktoken/);
    assert.equal(sent("/services/T1/B1/slacktoken"), FAILURE_THRESHOLD);
  });

  test("/metrics and /autopilot status show the open breakers, by destination name only", async () => {
    const url = `${sink.url}/services/T1/B1/slacktoken`;
    const { body } = await renderMetrics(t.store.pool);
    const destination = destinationOf("slack", url);
    assert.match(body, new RegExp(`autopilot_circuit_breaker_open\\{destination="${destination.replace(/[.#]/g, "\\$&")}"\\} 1`));
    assert.match(body, /autopilot_circuit_breaker_skipped_total\{destination="slack:[^"]+"\} 1/);
    assert.doesNotMatch(body, /slacktoken/);
    const open = await openBreakersOf(t.store.pool, [undefined, url]);
    assert.deepEqual(
      open.map((b) => b.destination),
      [destination],
    );
    const status = renderStatus([{ environment: "production", openBreakers: open }]);
    assert.match(status, /\*\*Circuit breakers open\*\*\n\n- \*\*production\*\*: `slack:[^`]+` failed 5 times in a row; calls are skipped until \d{4}-/);
  });

  test("without a bound store (the command line) every call goes through", async () => {
    bindBreakerStore(undefined);
    try {
      let calls = 0;
      for (let i = 0; i < 8; i++)
        await throughBreaker(
          "x:y#1",
          async () => calls++,
          () => "failed",
        ).catch(() => undefined);
      assert.equal(calls, 8);
    } finally {
      bindBreakerStore(t.store.pool);
    }
    await assert.rejects(
      throughBreaker(destinationOf("slack", `${sink.url}/services/T1/B1/slacktoken`), async () => 1),
      BreakerOpen,
    );
  });
});
