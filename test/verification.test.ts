// Verification after a change: the baseline is the hour of health log before it (real PostgreSQL),
// and each regression rule fires on its own, while a near miss of each does not.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { baselineOf, judge, type VerificationSample } from "../src/health/verification.js";
import { loadRepoConfig } from "../src/config/repo-config.js";
import { verificationHeadline, verificationSection } from "../src/report/verify-report.js";
import { insertSamples, type Sample } from "./harness/synthetic-health.js";
import { useTestStore } from "./harness/test-store.js";

const REPO = "acme/shop";
const CHANGE_AT = new Date("2025-03-01T12:00:00Z");
const DEGRADED_MS = 2000;

/** One sample a minute for the hour before the change, plus noise the baseline must leave out. */
function hourBefore(check: string, latencyMs: (minute: number) => number, failedMinutes: number[] = []): Sample[] {
  return Array.from({ length: 60 }, (_, i) => ({
    repo: REPO,
    check,
    at: new Date(CHANGE_AT.getTime() - (i + 1) * 60_000 + 5_000),
    status: failedMinutes.includes(i) ? ("unhealthy" as const) : ("healthy" as const),
    latencyMs: latencyMs(i),
  }));
}

const probes = (check: string, latencies: number[], failed: number[] = []): VerificationSample[] =>
  latencies.map((latencyMs, i) => ({ check, status: failed.includes(i) ? "unhealthy" : "healthy", latencyMs }));

describe("verification against the hour before the change", () => {
  const t = useTestStore("verify");

  test("the baseline is the hour before the change: error rate and nearest-rank p95, older, later and maintenance rows left out", async () => {
    // Minute i answers in 1000 + 10·i ms and minutes 5-7 fail (3 of 60): of the 57 answers, the 55th is the p95 (1570 ms).
    await insertSamples(
      t.store.pool,
      hourBefore("site", (i) => 1000 + 10 * i, [5, 6, 7]),
    );
    const outside: Sample[] = [
      { repo: REPO, check: "site", at: new Date(CHANGE_AT.getTime() - 61 * 60_000), status: "unhealthy", latencyMs: 90_000 },
      { repo: REPO, check: "site", at: new Date(CHANGE_AT.getTime() + 60_000), status: "unhealthy", latencyMs: 90_000 },
      { repo: REPO, check: "site", at: new Date(CHANGE_AT.getTime() - 30_000), status: "maintenance", latencyMs: 90_000 },
      { repo: "acme/other", check: "site", at: new Date(CHANGE_AT.getTime() - 30_000), status: "unhealthy", latencyMs: 90_000 },
    ];
    await insertSamples(t.store.pool, outside);
    const baseline = await baselineOf(t.store.pool, REPO, ["site", "api"], CHANGE_AT);
    assert.deepEqual(baseline.get("site"), { samples: 60, errorRate: 3 / 60, p95Ms: 1570, downAtChange: false });
    assert.deepEqual(baseline.get("api"), { samples: 0, errorRate: null, p95Ms: null, downAtChange: false }, "a check without history has no baseline");
  });

  test("a check down fires on its latest probe; one that failed and came back does not", async () => {
    const baseline = await baselineOf(t.store.pool, REPO, ["site"], CHANGE_AT);
    const down = judge(baseline, probes("site", [300, 300, 300, 300], [3]), DEGRADED_MS);
    assert.deepEqual(
      down.regressions.map((r) => r.rule),
      ["down", "errors"],
    );
    // 1 failure in 20 probes is 5%: not over 3× the baseline's 5%, and the latest probe answered.
    const blip = judge(baseline, probes("site", Array(20).fill(300), [4]), DEGRADED_MS);
    assert.equal(blip.regressed, false, JSON.stringify(blip.regressions));
  });

  test("the error rate rule: over 3× the baseline fires, exactly 3× does not", async () => {
    const baseline = await baselineOf(t.store.pool, REPO, ["site"], CHANGE_AT);
    // Baseline 5%: 3 failures of 20 probes (15%) is 3×, not over it; 4 of 20 (20%) is over.
    const nearMiss = judge(baseline, probes("site", Array(20).fill(300), [1, 2, 3]), DEGRADED_MS);
    assert.equal(nearMiss.regressed, false, JSON.stringify(nearMiss.regressions));
    const fired = judge(baseline, probes("site", Array(20).fill(300), [1, 2, 3, 4]), DEGRADED_MS);
    assert.deepEqual(
      fired.regressions.map((r) => [r.rule, r.now.errorRate, r.baseline.errorRate]),
      [["errors", 0.2, 0.05]],
    );
  });

  test("the latency rule needs both: over 2× the baseline's p95 and over degraded_ms", async () => {
    // Baseline p95 1570 ms: 3200 ms is over 2× (3140) and over 2000 ms; 3100 ms is not.
    const baseline = await baselineOf(t.store.pool, REPO, ["site"], CHANGE_AT);
    const fired = judge(baseline, probes("site", [3200, 3200]), DEGRADED_MS);
    assert.deepEqual(
      fired.regressions.map((r) => [r.rule, r.now.p95Ms, r.baseline.p95Ms]),
      [["latency", 3200, 1570]],
    );
    assert.equal(judge(baseline, probes("site", [3100, 3100]), DEGRADED_MS).regressed, false, "under 2× the baseline");
    assert.equal(judge(baseline, probes("site", [3200, 3200]), 5000).regressed, false, "under degraded_ms");
  });

  test("a fast baseline: 2× of 200 ms is not a regression while it stays under degraded_ms", async () => {
    await insertSamples(
      t.store.pool,
      hourBefore("fast", () => 200),
    );
    const baseline = await baselineOf(t.store.pool, REPO, ["fast"], CHANGE_AT);
    assert.equal(judge(baseline, probes("fast", [1900]), DEGRADED_MS).regressed, false);
    const slow = judge(baseline, probes("fast", [2100]), DEGRADED_MS);
    assert.deepEqual(
      slow.regressions.map((r) => r.rule),
      ["latency"],
    );
  });

  test("a check already down when the change landed (its host's breaker open, say) is no regression while it stays down; once it answered, down again is", async () => {
    // Down for the last 10 minutes before the change; the maintenance row after it does not hide that.
    await insertSamples(t.store.pool, [
      ...hourBefore("status", () => 300, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      { repo: REPO, check: "status", at: new Date(CHANGE_AT.getTime() - 10_000), status: "maintenance", latencyMs: 300 },
    ]);
    const baseline = await baselineOf(t.store.pool, REPO, ["status"], CHANGE_AT);
    assert.deepEqual(baseline.get("status"), { samples: 60, errorRate: 10 / 60, p95Ms: 300, downAtChange: true });
    // Every verification probe skipped by the open breaker: recorded down, as in the heal cycle.
    const stillDown = judge(baseline, probes("status", [0, 0, 0], [0, 1, 2]), DEGRADED_MS);
    assert.equal(stillDown.regressed, false, JSON.stringify(stillDown.regressions));
    assert.equal(stillDown.checks[0].now.errorRate, 1, "the figures still show it down");
    const backThenDown = judge(baseline, probes("status", [0, 300, 0], [0, 2]), DEGRADED_MS);
    assert.deepEqual(
      backThenDown.regressions.map((r) => r.rule),
      ["down", "errors"],
    );
  });

  test("the report names the verdict and the figures, before vs. now", async () => {
    const baseline = await baselineOf(t.store.pool, REPO, ["site"], CHANGE_AT);
    const regressed = { ...judge(baseline, probes("site", [3200, 3200], [1]), DEGRADED_MS), environment: "production", minutes: 5, probes: 2 };
    assert.equal(verificationHeadline(regressed), "regressed: site down, site p95 3200 ms, site error rate 50%");
    const section = verificationSection(regressed);
    assert.match(section, /Verification: ❌ regressed\*\* on \*\*production\*\* after 2 probe rounds of 5 min/);
    assert.match(section, /`site` p95 latency is 3200 ms: over 2× the hour before \(1570 ms\) and over `degraded_ms` \(2000 ms\)/);
    assert.match(section, /`site` error rate is 50%: over 3× the hour before \(5%\)/);
    assert.match(section, /\| site \| 5% → 50% \| 1570 ms → 3200 ms \| 60 \|/);
    const verified = { ...judge(baseline, probes("site", [300]), DEGRADED_MS), environment: "production", minutes: 5, probes: 10 };
    assert.equal(verificationHeadline(verified), "verified (5 min)");
    assert.match(verificationSection(verified), /Verification: ✅ verified\*\* on \*\*production\*\*/);
  });
});

describe("the verify section of .github/autopilot.yml", () => {
  const health = ["health:", "  checks:", '    - { name: site, url: "https://example.org/health" }', '    - { name: api, url: "https://example.org/api" }'];

  test("defaults: every health check for 5 minutes, comment on regression; none without a health section; minutes: 0 turns it off", () => {
    assert.deepEqual(loadRepoConfig(health.join("\n")).config.verify, { minutes: 5, checks: ["site", "api"], onRegression: "comment" });
    assert.equal(loadRepoConfig("migrations:\n  directory: db\n").config.verify, undefined);
    assert.equal(loadRepoConfig([...health, "verify:", "  minutes: 0"].join("\n")).config.verify, undefined);
    const chosen = loadRepoConfig([...health, "verify:", "  minutes: 2", "  checks: [api]", "  on_regression: rollback"].join("\n"));
    assert.deepEqual(chosen.errors, []);
    assert.deepEqual(chosen.config.verify, { minutes: 2, checks: ["api"], onRegression: "rollback" });
  });

  test("mistakes are errors naming the key and line", () => {
    const errors = (lines: string[]) => loadRepoConfig(lines.join("\n")).errors.map((p) => `${p.line}:${p.key}: ${p.message}`);
    assert.deepEqual(errors([...health, "verify:", "  checks: [site, shop]"]), [
      '6:verify.checks[1]: "shop" is not a check of the health section (known: site, api)',
    ]);
    const [wrongAction] = errors([...health, "verify:", "  on_regression: revert"]);
    assert.match(wrongAction, /^6:verify\.on_regression: /);
    assert.match(errors([...health, "verify:", "  minuts: 5"])[0], /^6:verify\.minuts: unknown key "minuts" — did you mean "minutes"\?/);
    assert.match(errors([...health, "verify:", "  minutes: 90"])[0], /^6:verify\.minutes: must be at most 60/);
    assert.deepEqual(errors(["verify:", "  minutes: 5"]), ["1:verify: needs a health section: verification probes the checks it defines"]);
  });
});
