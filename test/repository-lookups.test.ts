// The lookups heal cycles and discovery make a thousand times a minute: a repository's targets in
// the server config (indexed by name, case-insensitively) and its id and default branch as discovery
// last listed them (so a cycle need not ask GitHub). Hostile and production cases: names in another
// case, a repository renamed away or re-created, ids above 2^32, a listing that stopped coming.
import { test } from "node:test";
import assert from "node:assert/strict";
import { targetOf, targetsOf } from "../src/config/targets-of.js";
import { ListedRepositories } from "../src/github/api/repositories.js";

const config = {
  targets: [
    { repo: "Acme/Shop", environment: "production" },
    { repo: "acme/shop", environment: "staging" },
    { repo: "acme/other", environment: "production" },
  ],
};

test("a repository's targets are found whatever the case of its name, and no other repository's", () => {
  assert.deepEqual(
    targetsOf(config, "ACME/shop").map((t) => t.environment),
    ["production", "staging"],
  );
  assert.equal(targetOf(config, "acme/SHOP", "staging")?.repo, "acme/shop");
  assert.equal(targetOf(config, "acme/shop", "qa"), undefined);
  assert.deepEqual(targetsOf(config, "acme/shop-evil"), []);
  assert.deepEqual(targetsOf(config, "acme"), []);
});

test("discovery's listing: ids above 2^32 kept exactly, a repository no longer listed is not answered for, a stale listing is not used", async () => {
  const listed = new ListedRepositories(50);
  const bigId = 2 ** 32 + 12345;
  listed.replace([{ id: bigId, default_branch: "main", full_name: "Acme/Shop" }]);
  assert.deepEqual(listed.fresh("acme/shop"), { id: bigId, default_branch: "main" });

  // Renamed away (or deleted): the next listing does not have it, so a run asks GitHub.
  listed.replace([{ id: 7, default_branch: "trunk", full_name: "acme/renamed" }]);
  assert.equal(listed.fresh("acme/shop"), undefined);
  assert.deepEqual(listed.fresh("ACME/renamed"), { id: 7, default_branch: "trunk" });

  // Discovery stopped succeeding: past its freshness the listing is not trusted.
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(listed.fresh("acme/renamed"), undefined);
});
