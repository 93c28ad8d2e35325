// What makes a command act once, under production conditions rather than one delivery at a time
// (thirty deliveries of one comment at once: run-dedup.test.ts): thirty `/autopilot backup` comments at once, a failed backup giving back a
// claim that a newer command has taken since, and 64-bit repository ids racing for a target's
// binding. On a real PostgreSQL, through the store functions the app uses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { claimBackupCommand, releaseBackupCommand } from "../src/store/backup-claims.js";
import { recordedRepositoryId, recordOperatorBinding } from "../src/store/repository-bindings.js";
import { useTestStore } from "./harness/test-store.js";

const REPO = "acme/shop";
const AT_ONCE = 30;

describe("command claims under load", () => {
  const t = useTestStore("command_claims");

  test("thirty `/autopilot backup` at once: one is let through, every other is told when the next is allowed", async () => {
    const claims = await Promise.all(Array.from({ length: AT_ONCE }, () => claimBackupCommand(t.store.pool, REPO, "production")));
    const granted = claims.filter((c) => c.claimed);
    assert.equal(granted.length, 1, "one claim");
    const claimedAt = granted[0].claimed ? granted[0].claimedAt.getTime() : NaN;
    for (const claim of claims) {
      if (!claim.claimed) assert.equal(claim.nextAllowedAt.getTime(), claimedAt + 10 * 60_000);
    }
  });

  test("a failed backup gives back its own claim only, never one a later command took since", async () => {
    // An interval of 0 lets the second command in at once, as if the first were 10 minutes old.
    const first = await claimBackupCommand(t.store.pool, REPO, "staging", 0);
    await sleep(5); // claim times are kept to the millisecond
    const second = await claimBackupCommand(t.store.pool, REPO, "staging", 0);
    assert.ok(first.claimed && second.claimed);
    await releaseBackupCommand(t.store.pool, REPO, "staging", first.claimedAt);
    assert.equal((await claimBackupCommand(t.store.pool, REPO, "staging")).claimed, false, "the second command's claim still holds");
    // The claim time survives the run's JSON params (an ISO string) and still releases.
    await releaseBackupCommand(t.store.pool, REPO, "staging", new Date(second.claimedAt.toISOString()));
    assert.equal((await claimBackupCommand(t.store.pool, REPO, "staging")).claimed, true, "released: asked again at once");
  });

  test("two repositories (64-bit ids) acting on a target at once: the first recorded wins for both; the operator's repo_id replaces it", async () => {
    const [old, recreated] = [2 ** 40 + 7, 2 ** 40 + 8];
    const seen = await Promise.all([old, recreated, old, recreated].map((id) => recordedRepositoryId(t.store.pool, REPO, "production", id)));
    assert.equal(new Set(seen).size, 1, `one binding: ${seen.join(", ")}`);
    assert.ok([old, recreated].includes(seen[0]));
    await recordOperatorBinding(t.store.pool, REPO, "production", recreated);
    assert.equal(await recordedRepositoryId(t.store.pool, "ACME/Shop", "production", old), recreated, "case of the name does not matter");
  });
});
