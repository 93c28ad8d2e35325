import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { REPO, Scenario, TARGET_PASSWORD } from "./harness/scenario.js";
import { shopRepo } from "./harness/fixtures.js";
import { waitFor } from "./harness/app-process.js";
import type { IssueState } from "./harness/fake-github.js";

// A check every 3 s (and discovery every second) keeps this short; the real default is daily.
const SERVER_HEALTH = "health:\n  discovery_seconds: 1\n  min_schedule_seconds: 1";
const CONFIG = `${readFileSync("fixtures/shop/autopilot.yml", "utf8")}drift:\n  schedule: "*/3 * * * * *"\n`;

const WRITER = "bob";
const INDEX_ONLY_IN_PRODUCTION = "index `orders_created_at_idx` exists only in production";
const COLUMN_ONLY_IN_PRODUCTION = "column `customers.nickname` exists only in production";

const driftIssues = (s: Scenario): IssueState[] => s.github.issues(REPO).filter((i) => i.labels.includes("drift"));

describe("scheduled drift check (drift.schedule)", () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start({ shadow: true, serverExtra: SERVER_HEALTH });
    s.github.setPermission(REPO, WRITER, "write");
    const sha = await s.push({ ...shopRepo(["0001_init.sql"]), ".github/autopilot.yml": CONFIG });
    assert.equal((await s.completedCheckRun(sha)).conclusion, "success", "the first release is applied");
  });
  after(() => s.stop());

  test("a production that matches its migrations gets no issue, and status shows the scheduled check's result", async () => {
    await s.moreRunsFinished("drift", 1);
    assert.deepEqual(driftIssues(s), []);
    const [run] = await s.storeQuery("select status, title from runs where kind = 'drift' and finished_at is not null order by id desc limit 1");
    assert.deepEqual(run, { status: "success", title: "production matches its migrations: no drift." });
    const status = await s.comment("/autopilot status", { login: WRITER });
    assert.match(
      (await s.answered(1, status)).reply,
      /\*\*Drift\*\*\n\n- production matches its migrations: no drift\. \(scheduled check, \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/,
    );
  });

  // One story: each step starts from the issue the step before left.
  test("drift made by hand opens one `drift` issue; changed drift edits it and comments; persisting drift files no twin; drift removed closes it", async () => {
    await s.targetQuery("create index orders_created_at_idx on customers (created_at)");
    const [opened] = await waitFor("a drift issue", () => (driftIssues(s).length ? driftIssues(s) : undefined));
    assert.equal(opened.title, "Schema drift in production");
    assert.equal(opened.state, "open");
    assert.match(opened.body ?? "", new RegExp(escaped(INDEX_ONLY_IN_PRODUCTION)));
    assert.match(opened.body ?? "", /DROP INDEX public\.orders_created_at_idx;/);

    const status = await s.comment("/autopilot status", { login: WRITER });
    assert.match(
      (await s.answered(1, status)).reply,
      new RegExp(`- production differs from its migrations: ${escaped(INDEX_ONLY_IN_PRODUCTION)} \\(scheduled check, [^;]+; #${opened.number}\\)`),
    );

    await s.targetQuery("alter table customers add column nickname text");
    await waitFor("the issue edited to the changed drift", () => (issue(s, opened.number).body?.includes(COLUMN_ONLY_IN_PRODUCTION) ? true : undefined));
    const edited = issue(s, opened.number);
    assert.match(edited.body ?? "", new RegExp(escaped(INDEX_ONLY_IN_PRODUCTION)), "both differences are listed");
    assert.match(edited.body ?? "", /ALTER TABLE public\.customers DROP COLUMN nickname;/);
    const changed = () => s.github.comments(REPO, opened.number).filter((c) => /The drift changed/.test(c.body));
    await waitFor("a comment saying the drift changed", () => (changed().length ? true : undefined));
    assert.match(changed()[0].body, /production differs from its migrations: .* \(and 1 more\)/);

    // Two more checks of the same drift: the body is kept current, nothing new is filed or said.
    await s.moreRunsFinished("drift", 2);
    assert.deepEqual(
      driftIssues(s).map((i) => i.number),
      [opened.number],
      "one issue for the environment",
    );
    assert.equal(changed().length, 1, "persisting drift is not commented on again");

    await s.targetQuery("drop index orders_created_at_idx; alter table customers drop column nickname");
    await waitFor("the issue closed", () => (issue(s, opened.number).state === "closed" ? true : undefined));
    assert.match(s.github.comments(REPO, opened.number).at(-1)!.body, /✅ production matches its migrations: no drift\. \(checked .* UTC\); closing\./);
    await s.moreRunsFinished("drift", 1);
    assert.equal(driftIssues(s).length, 1, "no drift: nothing new is filed");
  });

  test("no request body GitHub would reject was sent, and the target's password went nowhere", () => {
    assert.deepEqual(s.github.violations, []);
    assert.ok(!s.everythingSent().includes(TARGET_PASSWORD));
  });
});

function issue(s: Scenario, number: number): IssueState {
  return s.github.issues(REPO).find((i) => i.number === number)!;
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
