// What makes a command act once, under production conditions rather than one delivery at a time:
// thirty deliveries or thirty `/autopilot backup` comments at once, a failed backup giving back a
// claim that a newer command has taken since, and 64-bit repository ids racing for a target's
// binding. On a real PostgreSQL, through the store functions the app uses.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { openStore, type Store } from "../src/store/store.js";
import { createRun } from "../src/store/runs.js";
import { claimBackupCommand, releaseBackupCommand } from "../src/store/backup-claims.js";
import { recordedRepositoryId, recordOperatorBinding } from "../src/store/repository-bindings.js";
import { createTestDatabase, type TestDatabase } from "./harness/postgres.js";

const REPO = "acme/shop";
const AT_ONCE = 30;

describe("command claims under load", () => {
  let db: TestDatabase;
  let store: Store;
  before(async () => {
    db = await createTestDatabase("command_claims");
    store = await openStore(db.url);
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });

  test("thirty deliveries of one comment at once (each with its own delivery id) record one run", async () => {
    const commentId = 2 ** 40 + 1;
    const created = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, i) =>
        createRun(store.pool, {
          kind: "command",
          trigger: "comment",
          repo: REPO,
          installationId: 2 ** 32 + 42,
          ref: null,
          commitSha: null,
          requestedBy: "ada",
          deliveryId: `delivery-${i}`,
          params: { commentId },
          dedupKeys: [`delivery:delivery-${i}`, `comment:${REPO}#${commentId}`],
        }),
      ),
    );
    assert.equal(created.filter(Boolean).length, 1, "one run recorded");
    const { rows } = await store.pool.query("select count(*)::int as n from runs where kind = 'command'");
    assert.equal(rows[0].n, 1, "the losers left no run behind");
    const keys = await store.pool.query("select key from run_dedup_keys order by key");
    assert.equal(keys.rows.length, 2, "only the winner's keys are claimed");
  });

  test("thirty `/autopilot backup` at once: one is let through, every other is told when the next is allowed", async () => {
    const claims = await Promise.all(Array.from({ length: AT_ONCE }, () => claimBackupCommand(store.pool, REPO, "production")));
    const granted = claims.filter((c) => c.claimed);
    assert.equal(granted.length, 1, "one claim");
    const claimedAt = granted[0].claimed ? granted[0].claimedAt.getTime() : NaN;
    for (const claim of claims) {
      if (!claim.claimed) assert.equal(claim.nextAllowedAt.getTime(), claimedAt + 10 * 60_000);
    }
  });

  test("a failed backup gives back its own claim only, never one a later command took since", async () => {
    // An interval of 0 lets the second command in at once, as if the first were 10 minutes old.
    const first = await claimBackupCommand(store.pool, REPO, "staging", 0);
    await sleep(5); // claim times are kept to the millisecond
    const second = await claimBackupCommand(store.pool, REPO, "staging", 0);
    assert.ok(first.claimed && second.claimed);
    await releaseBackupCommand(store.pool, REPO, "staging", first.claimedAt);
    assert.equal((await claimBackupCommand(store.pool, REPO, "staging")).claimed, false, "the second command's claim still holds");
    // The claim time survives the run's JSON params (an ISO string) and still releases.
    await releaseBackupCommand(store.pool, REPO, "staging", new Date(second.claimedAt.toISOString()));
    assert.equal((await claimBackupCommand(store.pool, REPO, "staging")).claimed, true, "released: asked again at once");
  });

  test("two repositories (64-bit ids) acting on a target at once: the first recorded wins for both; the operator's repo_id replaces it", async () => {
    const [old, recreated] = [2 ** 40 + 7, 2 ** 40 + 8];
    const seen = await Promise.all([old, recreated, old, recreated].map((id) => recordedRepositoryId(store.pool, REPO, "production", id)));
    assert.equal(new Set(seen).size, 1, `one binding: ${seen.join(", ")}`);
    assert.ok([old, recreated].includes(seen[0]));
    await recordOperatorBinding(store.pool, REPO, "production", recreated);
    assert.equal(await recordedRepositoryId(store.pool, "ACME/Shop", "production", old), recreated, "case of the name does not matter");
  });
});
