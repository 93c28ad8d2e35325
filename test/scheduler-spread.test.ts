// The scheduler's spread: a task starts at a stable offset into its interval, so many repositories on
// one schedule start spread over it instead of in the same instant.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spreadDelayMs } from "../src/jobs/scheduler.js";

const repos = Array.from({ length: 1000 }, (_, i) => `acme/service-${i}`);

test("every replica waits the same for the same task", () => {
  assert.equal(spreadDelayMs("acme/shop", "* * * * *"), spreadDelayMs("acme/shop", "* * * * *"));
  assert.notEqual(spreadDelayMs("acme/shop", "* * * * *"), spreadDelayMs("acme/shop#scan", "* * * * *"));
});

test("a thousand repositories on one schedule start over the minute, no second holding many", () => {
  const delays = repos.map((repo) => spreadDelayMs(repo, "* * * * *"));
  assert.ok(delays.every((ms) => Number.isInteger(ms) && ms >= 0 && ms < 60_000));
  const perSecond = new Map<number, number>();
  for (const ms of delays) perSecond.set(Math.floor(ms / 1000), (perSecond.get(Math.floor(ms / 1000)) ?? 0) + 1);
  assert.equal(perSecond.size, 60, "every second of the window takes some");
  assert.ok(Math.max(...perSecond.values()) <= 34, `at most about twice the mean (17) in one second: ${Math.max(...perSecond.values())}`);
});

test("a task starts within a short interval, and at most 60 s after a long one's time", () => {
  for (const repo of repos.slice(0, 100)) {
    assert.ok(spreadDelayMs(repo, "*/2 * * * * *") < 2_000);
    assert.ok(spreadDelayMs(repo, "*/10 * * * * *") < 10_000);
    assert.ok(spreadDelayMs(repo, "0 9 * * 1") < 60_000);
  }
});
