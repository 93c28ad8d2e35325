// A small load drill (15 jobs, 11 of them holding run locks at once: more than the store pool's
// connections). The full one, 32 jobs of every kind: `npm run drill:jobs`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Scenario } from "./harness/scenario.js";
import { describeSamples, expectedJobs, runLoadDrill, slowAnswers, startDrillScenario, type DrillShape } from "./harness/jobs-drill.js";
import { DEFAULT_POOL_SIZE } from "../src/store/store.js";

const SMALL_DRILL: DrillShape = { pulls: 4, pushes: 1, backupComments: 4, healsInComments: false, planComments: 0, statusComments: 2, eventHeals: 0 };

describe("load drill", () => {
  let s: Scenario;
  let mainFiles: Record<string, string>;
  before(async () => ({ scenario: s, mainFiles } = await startDrillScenario()));
  after(() => s.stop());

  // Deadlines are generous: this is a liveness drill on a shared machine, not a benchmark.
  test("more jobs than the store pool has connections run at once, all finish, and /healthz answers within a second", { timeout: 300_000 }, async (t) => {
    const result = await runLoadDrill(s, mainFiles, SMALL_DRILL);
    t.diagnostic(`${result.peakLocks} jobs held run locks at once; ${result.runs.length} jobs in ${result.seconds.toFixed(1)} s`);
    t.diagnostic(`/healthz: ${describeSamples(result.samples)}`);

    assert.ok(result.peakLocks > DEFAULT_POOL_SIZE);
    const byKind = Object.fromEntries(Object.keys(expectedJobs(SMALL_DRILL)).map((k) => [k, result.runs.filter((r) => r.kind === k).length]));
    assert.deepEqual(byKind, expectedJobs(SMALL_DRILL));
    assert.deepEqual(
      result.runs.filter((r) => r.status === "failure"),
      [],
      "no run failed",
    );
    for (const reactions of result.reactions) assert.ok(reactions.includes("rocket"), `every command succeeded: ${reactions.join(",")}`);
    assert.equal((await s.targetQuery("select count(*)::int as n from pg_tables where tablename = 'drill_0'"))[0].n, 1, "the migration applied");

    assert.ok(result.samples.length >= 10, `/healthz was polled throughout (${result.samples.length} times)`);
    // On this shared machine, what the store adds to an answer is held to 1 s (see harness/jobs-drill.ts); `npm run drill:jobs` holds the whole answer to it.
    assert.deepEqual(slowAnswers(result.samples, "beyondControl"), [], "every /healthz answer was 200, within 1 s of a store-free request's");
    assert.deepEqual(s.github.violations, []);
  });
});
