import { createHash } from "node:crypto";

// GitHub's ids (check runs, comments, issues, installations, repositories, users) are 64-bit and
// long past 2^32 in production. The fake and the webhook payloads hand out ids in that range by
// default, so every test runs on realistic ids and any 32-bit path (an `::int` cast, an int4 column)
// fails the suite instead of production.

/** The first id FakeGitHub hands out: above 2^32, well below 2^53 (JavaScript's exact integers). */
export const FIRST_BIG_ID = 2 ** 32 + 1000;

/** A stable id above 2^32 for a name (a user, a repository, a pull request), apart from FIRST_BIG_ID's sequence. */
export function bigIdFor(name: string): number {
  return 2 ** 33 + (createHash("sha1").update(name).digest().readUInt32BE(0) % 100_000_000);
}
