// One way to start the app: the Docker image runs the command `npm start` runs (package.json), with
// the same node flags (the heap sizes the load drill measured), and the tests and drills start it
// that way too (harness/app-process.ts reads the start script).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startCommandArgs } from "./harness/app-process.js";

test("the Docker image's CMD is npm start's command, flags included", () => {
  const dockerfile = readFileSync(path.resolve(import.meta.dirname, "../Dockerfile"), "utf8");
  const cmd = dockerfile.match(/^CMD (\[.*\])$/m);
  assert.ok(cmd, "the Dockerfile has an exec-form CMD");
  assert.deepEqual(JSON.parse(cmd[1]), ["node", ...startCommandArgs()]);
  assert.ok(startCommandArgs().includes("--max-semi-space-size=64"));
  assert.ok(startCommandArgs().includes("--initial-old-space-size=256"));
});
