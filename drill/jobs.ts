// `npm run drill:jobs`: the full jobs drill — 32 jobs of every kind at once (pull request plans,
// pushes, backups of four environments, heals from comments and from POST /autopilot/events,
// status and plan commands) against the real app, while /healthz is polled. Prints what happened
// and exits 1 unless every job finished, none failed, and every /healthz answer came within 1 s.
import { DEFAULT_POOL_SIZE } from "../src/store/store.js";
import { describeSamples, expectedJobs, FULL_DRILL, runLoadDrill, slowAnswers, startDrillScenario } from "../test/harness/jobs-drill.js";

const { scenario, mainFiles } = await startDrillScenario();
let problems: string[] = [];
try {
  const result = await runLoadDrill(scenario, mainFiles, FULL_DRILL, 600_000);
  const expected = expectedJobs(FULL_DRILL);
  const byKind = Object.fromEntries(Object.keys(expected).map((k) => [k, result.runs.filter((r) => r.kind === k).length]));
  console.log(`jobs: ${JSON.stringify(byKind)} in ${result.seconds.toFixed(1)} s; ${result.peakLocks} held run locks at once (pool: ${DEFAULT_POOL_SIZE})`);
  console.log(`/healthz: ${describeSamples(result.samples)}`);
  problems = [
    ...(JSON.stringify(byKind) === JSON.stringify(expected) ? [] : [`expected jobs ${JSON.stringify(expected)}`]),
    ...result.runs.filter((r) => r.status === "failure").map((r) => `run ${r.id} (${r.kind}) failed: ${r.title}`),
    ...result.reactions.filter((r) => !r.includes("rocket")).map((r) => `a command was not marked 🚀: ${r.join(",")}`),
    ...slowAnswers(result.samples, "strict").map((x) => `/healthz at ${x.at}: ${x.status} in ${Math.round(x.ms)} ms (control: ${Math.round(x.controlMs)} ms)`),
  ];
} catch (error) {
  problems = [(error as Error).message];
} finally {
  await scenario.stop();
}
for (const problem of problems) console.log(`FAIL ${problem}`);
console.log(problems.length ? "drill=failed" : "drill=passed");
process.exit(problems.length ? 1 : 0);
