// A job that fails for good lands in pg-boss's dead-letter queue: `autopilot jobs failed` lists it
// (from the store), `/autopilot status` and /metrics count it, and `autopilot jobs retry` sends its run
// back to its queue, where it runs and answers. The app, the store and the CLI are real; GitHub is
// the fake, made to refuse the command's reply (422, which Octokit does not retry) on every attempt.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Scenario } from "./harness/scenario.js";
import { waitFor } from "./harness/app-process.js";
import { shopRepo } from "./harness/fixtures.js";

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));
const TOKEN = "dead-letters-metrics-token";
const WRITER = "ada";

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("dead-lettered jobs", () => {
  let s: Scenario;
  let cli: Record<string, string>;
  before(async () => {
    // Two attempts per job (AUTOPILOT_RETRY_LIMIT=1), a second apart.
    s = await Scenario.start({ env: { AUTOPILOT_RETRY_LIMIT: "1", AUTOPILOT_METRICS_TOKEN: TOKEN } });
    s.github.setPermission("acme/shop", WRITER, "write");
    s.commit(shopRepo([])); // the config on main, nothing to migrate: commands read it
    cli = { DATABASE_URL: s.store.url };
  });
  after(() => s.stop());

  test("a job that throws on every attempt is listed, counted, and runs again when retried", async () => {
    // Both attempts fail posting the reply: the job throws on its last attempt.
    s.github.failNext("POST", /\/repos\/acme\/shop\/issues\/7\/comments$/, 422, 2);
    const commentId = await s.comment("/autopilot help", { login: WRITER, issueNumber: 7 });
    const [run] = await waitFor("the command run concluded by the reaper", async () => {
      const rows = await s.storeQuery<{ id: string; status: string; attempts: number }>(
        "select id, status, attempts from runs where kind = 'command' and params->>'commentId' = $1 and status = 'failure'",
        [String(commentId)],
      );
      return rows.length ? rows : undefined;
    });
    assert.equal(run.attempts, 2, "both attempts ran");

    const failed = await waitFor("the job in `jobs failed`", async () => {
      const listed = await autopilot(["jobs", "failed", "--repo", "acme/shop", "--json"], cli);
      assert.equal(listed.code, 0, listed.stderr);
      return listed.stdout.trim()
        ? listed.stdout
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l))
        : undefined;
    });
    assert.equal(failed.length, 1);
    const [letter] = failed;
    assert.equal(letter.kind, "command");
    assert.equal(letter.runId, Number(run.id));
    assert.equal(letter.repo, "acme/shop");
    assert.match(letter.error, /422/, "the last attempt's error");
    assert.ok(Date.now() - new Date(letter.failedAt).getTime() < 120_000, "when it failed");
    const text = await autopilot(["jobs", "failed"], cli);
    assert.equal(text.stdout.split("\t")[0], letter.id, "the plain listing starts with the job id");
    assert.match(text.stdout, new RegExp(`\\tcommand\\trun ${run.id}\\tacme/shop\\t`));

    const status = await s.comment("/autopilot status", { login: WRITER });
    assert.match((await s.answered(1, status)).reply, /\*\*Failed jobs\*\*: 1 job exhausted its retries|\*\*Failed jobs\*\*: 1 job /);
    const metrics = await (await fetch(`${s.app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(metrics, /^autopilot_jobs_dead_lettered\{repo="acme\/shop",kind="command"\} 1$/m);

    const retried = await autopilot(["jobs", "retry", letter.id], cli);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, new RegExp(`run ${run.id} \\(command, acme/shop\\) is queued again as job `));
    const { reply } = await s.answered(7, commentId);
    assert.match(reply, /autopilot/i, "the retried run answers the comment");
    const [after] = await s.storeQuery("select status from runs where id = $1", [run.id]);
    assert.notEqual(after.status, "failure");
    const empty = await autopilot(["jobs", "failed"], cli);
    assert.equal(empty.stdout, "", "it left the dead-letter queue");
    assert.match(empty.stderr, /no failed jobs/);

    // An error that quotes a connection string is listed without its password.
    await s.storeQuery("insert into pgboss.job (name, data, output) values ('dead-letters', $1, $2)", [
      { runId: Number(run.id) },
      { message: "connect failed: postgres://app:hunter2-secret@db.internal/shop" },
    ]);
    const secret = await autopilot(["jobs", "failed", "--json"], cli);
    assert.match(secret.stdout, /connect failed/);
    assert.doesNotMatch(secret.stdout, /hunter2-secret/);

    const again = await autopilot(["jobs", "retry", letter.id], cli);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`no job ${letter.id} waits in the dead-letter queue`));
    const bad = await autopilot(["jobs", "retry", "12"], cli);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /"12" is not a job id/);
  });
});
