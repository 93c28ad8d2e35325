// The shared "did you mean" of commands, config keys, lint rules and severities.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closest } from "../src/did-you-mean.js";

test("closest answers the nearest candidate as written, compared case-insensitively, within the distance", () => {
  assert.equal(closest("ROLBACK", ["status", "rollback"]), "rollback");
  assert.equal(closest("prod", ["Production", "Prod"]), "Prod");
  assert.equal(closest("staging", ["production"]), undefined, "too far at the default 2 edits");
  assert.equal(closest("ban-drop-colum", ["ban-drop-column", "ban-drop-table"], 4), "ban-drop-column");
  assert.equal(closest("wxyz", ["a", "abcdefgh"], 3), undefined, "a length difference beyond the distance rules a candidate out");
  assert.equal(closest("cat", ["bat", "cut"]), "bat", "the first of equals");
  assert.equal(closest("anything", []), undefined);
});
