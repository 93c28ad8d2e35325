// The run contract (store/run-requests.ts) on a real PostgreSQL: a run is checked before it is
// recorded, and a row read back that does not match its kind is refused, naming the run and the field.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MalformedRunError } from "../src/store/run-requests.js";
import { createRun, getRun, unfinishedRuns, type NewRun } from "../src/store/runs.js";
import { useTestStore } from "./harness/test-store.js";
import { ProbotOctokit } from "probot";
import { FakeGitHub } from "./harness/fake-github.js";
import { generateAppKey } from "./harness/app-key.js";
import { concludeRefused } from "../src/runbooks/refused-run.js";
import { CheckRunReporter } from "../src/report/check-run.js";
import { splitRepo } from "../src/github/api/client.js";
import { createLogger } from "../src/logger.js";

const key = generateAppKey();

const origin = { repo: "acme/shop", installationId: 2 ** 32 + 5, ref: "refs/heads/main", requestedBy: "olga", deliveryId: null };

const rollbackRun: NewRun = {
  ...origin,
  kind: "rollback",
  trigger: "command",
  commitSha: "c".repeat(40),
  params: { environment: "production", destination: { kind: "version", version: "0002" } },
};

describe("run contract", () => {
  const t = useTestStore("run_requests");
  const insertRow = async (kind: string, trigger: string, commitSha: string | null, params: unknown): Promise<number> => {
    const { rows } = await t.store.pool.query(
      `insert into runs (kind, trigger, repo, installation_id, commit_sha, params) values ($1, $2, 'acme/shop', 1, $3, $4) returning id`,
      [kind, trigger, commitSha, JSON.stringify(params)],
    );
    return Number(rows[0].id);
  };

  test("a run reads back as a request of its kind, with its own params", async () => {
    const created = await createRun(t.store.pool, rollbackRun);
    assert.ok(created);
    const run = await getRun(t.store.pool, created.id);
    assert.equal(run?.kind, "rollback");
    if (run?.kind !== "rollback") return;
    assert.deepEqual(run.params.destination, { kind: "version", version: "0002" });
    assert.equal(run.params.environment, "production");
  });

  test("a rollback row recorded before the rename reads its `target` as the destination", async () => {
    const id = await insertRow("rollback", "command", "c".repeat(40), {
      environment: "production",
      target: { kind: "backup", id: "bk_20250127093000_1a2b3c" },
    });
    const run = await getRun(t.store.pool, id);
    assert.equal(run?.kind, "rollback");
    if (run?.kind !== "rollback") return;
    assert.deepEqual(run.params, { environment: "production", destination: { kind: "backup", id: "bk_20250127093000_1a2b3c" } });
    await t.store.pool.query("delete from runs where id = $1", [id]);
  });

  test("a comment command acts on no commit; its row reads back with a null commit", async () => {
    const created = await createRun(t.store.pool, {
      ...origin,
      ref: null,
      kind: "command",
      trigger: "comment",
      commitSha: null,
      params: { commentId: 2 ** 40, issueNumber: 7, isPullRequest: true, body: "/autopilot status" },
    });
    const run = await getRun(t.store.pool, created!.id);
    assert.equal(run?.commitSha, null);
    assert.equal(run?.kind === "command" && run.trigger === "comment" && run.params.commentId, 2 ** 40);
  });

  test("a row whose params do not match its kind is refused, naming the run and the field", async () => {
    const id = await insertRow("rollback", "command", "c".repeat(40), { target: { kind: "last" } });
    await assert.rejects(getRun(t.store.pool, id), (error: Error) => {
      assert.ok(error instanceof MalformedRunError, `a MalformedRunError, not ${error}`);
      assert.match(error.message, new RegExp(`^run ${id} does not match`));
      assert.match(error.message, /params\.environment/);
      return true;
    });
    await t.store.pool.query("delete from runs where id = $1", [id]);
  });

  test("a row of an unknown kind, or a command with another trigger's params, is refused", async () => {
    const unknown = await insertRow("deploy", "push", "c".repeat(40), {});
    await assert.rejects(getRun(t.store.pool, unknown), new RegExp(`run ${unknown} .*kind`));
    const button = await insertRow("command", "button", "c".repeat(40), { commentId: 1, issueNumber: 1, isPullRequest: false, body: "" });
    await assert.rejects(getRun(t.store.pool, button), new RegExp(`run ${button} .*params\\.button`));
    await t.store.pool.query("delete from runs where id = any($1)", [[unknown, button]]);
  });

  test("the reaper concludes a malformed unfinished row and its Check Run as failed, with the reason, and still lists the others", async () => {
    const fake = await FakeGitHub.start({ privateKey: key });
    try {
      fake.addRepo("acme/shop", { installationId: 7 });
      const sha = fake.commit("acme/shop", { "a.sql": "select 1;" })!;
      const github = new ProbotOctokit({ baseUrl: fake.apiUrl, auth: { appId: 1, privateKey: key, installationId: 7 } });
      const checkRunId = await new CheckRunReporter(github, splitRepo("acme/shop"), "autopilot/migrate", sha).start("Working…");
      const good = await createRun(t.store.pool, rollbackRun);
      const bad = await insertRow("rollback", "command", sha, { target: { kind: "last" } });
      await t.store.pool.query("update runs set check_run_id = $2, status = 'in_progress' where id = $1", [bad, checkRunId]);

      const { runs, refused } = await unfinishedRuns(t.store.pool);
      assert.ok(
        runs.some((run) => run.id === good!.id),
        "the good run is listed",
      );
      assert.deepEqual(
        refused.map((run) => run.id),
        [bad],
        "the malformed run is set apart",
      );
      await concludeRefused({ db: t.store.pool, github: async () => github, log: createLogger("silent") }, refused[0]);

      const { rows } = await t.store.pool.query("select status, error from runs where id = $1", [bad]);
      assert.equal(rows[0].status, "failure");
      assert.match(rows[0].error, /params\.environment/);
      const checkRun = fake.checkRuns("acme/shop").find((run) => run.id === checkRunId)!;
      assert.equal(checkRun.status, "completed");
      assert.equal(checkRun.conclusion, "failure");
      assert.match(checkRun.output.summary ?? "", /params\.environment/);
      assert.deepEqual(fake.violations, []);
      assert.deepEqual((await unfinishedRuns(t.store.pool)).refused, [], "concluded once");
      await t.store.pool.query("delete from runs where id = any($1)", [[good!.id, bad]]);
    } finally {
      await fake.close();
    }
  });

  test("a new run whose params do not match its kind is not recorded", async () => {
    const before = (await t.store.pool.query("select count(*)::int as n from runs")).rows[0].n;
    const bad = { ...rollbackRun, params: { environment: "production", destination: { kind: "version" } } } as unknown as NewRun;
    await assert.rejects(createRun(t.store.pool, bad), (error: Error) => error instanceof MalformedRunError && /params\.destination/.test(error.message));
    const after = (await t.store.pool.query("select count(*)::int as n from runs")).rows[0].n;
    assert.equal(after, before);
  });
});
