// The background loops' helper (housekeeping, the push sweep, the reaper, the scheduler's discovery):
// a tick during a pass slower than the interval is skipped (no overlap, no backlog of passes), a
// failing pass does not end the loop, and stopping waits for the pass under way only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { repeatEvery } from "../src/jobs/repeat.js";

test("one pass at a time, through failures, and the stop waits for the pass under way", async () => {
  let running = 0;
  let most = 0;
  let passes = 0;
  const errors: unknown[] = [];
  const stop = repeatEvery(
    0.01,
    async () => {
      most = Math.max(most, ++running);
      passes++;
      await sleep(40); // four intervals long
      running--;
      if (passes === 2) throw new Error("the store went away");
    },
    (error) => errors.push(error),
  );
  while (passes < 4) await sleep(10);
  const started = passes;
  await stop();
  assert.equal(running, 0, "the stop returned after the pass under way ended");
  assert.equal(most, 1, "passes never overlapped");
  assert.deepEqual(
    errors.map((e) => (e as Error).message),
    ["the store went away"],
    "the failure was reported and the loop went on",
  );
  assert.equal(passes, started, "the stop ran no pass queued behind the one under way: ticks during a pass were skipped");
  await sleep(50);
  assert.equal(passes, started, "no pass after the stop");
});
