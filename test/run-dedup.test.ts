// A command runs once however GitHub delivers it (store/runs.ts createRun with dedupKeys): twins that
// arrive together, on any number of webhook handlers at once, record one run; a store that fails
// halfway records none.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRun, type NewRun } from "../src/store/runs.js";
import { useTestStore } from "./harness/test-store.js";

const commentRun = (deliveryId: string, commentId: number): NewRun => ({
  kind: "command",
  trigger: "comment",
  repo: "acme/shop",
  installationId: 2 ** 32 + 42,
  ref: null,
  commitSha: null,
  requestedBy: "olga",
  deliveryId,
  params: { commentId, issueNumber: 1, isPullRequest: false, body: "/autopilot status" },
  dedupKeys: [`delivery:${deliveryId}`, `comment:acme/shop#${commentId}`],
});

describe("command runs deduplicated by delivery and comment", () => {
  const t = useTestStore("run_dedup");
  const runsOf = async (commentId: number) =>
    (await t.store.pool.query("select id from runs where params->>'commentId' = $1", [String(commentId)])).rows.length;

  test("thirty deliveries of one comment at once (redeliveries with new ids) record one run", async () => {
    const commentId = 2 ** 33 + 1;
    const created = await Promise.all(Array.from({ length: 30 }, (_, i) => createRun(t.store.pool, commentRun(`delivery-${i}`, commentId))));
    assert.equal(created.filter(Boolean).length, 1, "one createRun recorded the run; the others were told it was a twin");
    assert.equal(await runsOf(commentId), 1);
    const [{ n }] = (await t.store.pool.query("select count(*)::int as n from run_dedup_keys where run_id = $1", [created.find(Boolean)!.id])).rows;
    assert.equal(n, 2, "the recorded run holds both its keys; the twins left none behind");
  });

  test("a twin that shares only one key (same delivery, another comment) is not recorded either", async () => {
    assert.ok(await createRun(t.store.pool, commentRun("delivery-shared", 2 ** 33 + 2)));
    assert.equal(await createRun(t.store.pool, commentRun("delivery-shared", 2 ** 33 + 3)), undefined);
    assert.equal(await runsOf(2 ** 33 + 3), 0);
  });

  test("a key that cannot be stored fails the whole record: no run without its keys", async () => {
    const commentId = 2 ** 33 + 4;
    const broken = { ...commentRun("delivery-broken", commentId), dedupKeys: ["delivery:delivery-broken", null as unknown as string] };
    await assert.rejects(createRun(t.store.pool, broken), /null value/);
    assert.equal(await runsOf(commentId), 0, "the run was rolled back with its keys");
    assert.ok(await createRun(t.store.pool, commentRun("delivery-broken", commentId)), "and the delivery can be recorded once the store works");
  });
});
