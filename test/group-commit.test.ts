// GroupCommit: what arrives while a write is under way goes in the next write, and each caller hears
// how its own write ended.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GroupCommit } from "../src/store/group-commit.js";

/** A write the test finishes by hand, recording each batch. */
function heldWrites() {
  const batches: number[][] = [];
  const finish: Array<(error?: Error) => void> = [];
  const write = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push(items);
      finish.push((error) => (error ? reject(error) : resolve()));
    });
  return { batches, finish, write };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("items added while a write is under way are written together next, each settled with its own batch", async () => {
  const { batches, finish, write } = heldWrites();
  const group = new GroupCommit(write);
  const settled: string[] = [];
  const first = group.add(1).then(() => settled.push("1"));
  await tick();
  const rest = [2, 3, 4].map((n) => group.add(n).then(() => settled.push(String(n))));
  await tick();
  assert.deepEqual(batches, [[1]], "one write at a time");
  finish[0]();
  await first;
  await tick();
  assert.deepEqual(settled, ["1"], "the others wait for their own write");
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
  finish[1]();
  await Promise.all(rest);
  assert.deepEqual(settled, ["1", "2", "3", "4"]);
});

test("a failed write rejects only its own batch; the next batch is still written", async () => {
  const { batches, finish, write } = heldWrites();
  const group = new GroupCommit(write);
  const lost = group.add(1);
  await tick();
  const later = group.add(2);
  finish[0](new Error("store went away"));
  await assert.rejects(lost, /store went away/);
  await tick();
  assert.deepEqual(batches, [[1], [2]]);
  finish[1]();
  await later;
});

test("a batch holds at most maxBatch items", async () => {
  const { batches, finish, write } = heldWrites();
  const group = new GroupCommit(write, 2);
  const all = [1, 2, 3, 4, 5].map((n) => group.add(n));
  for (let i = 0; i < 3; i++) {
    await tick();
    finish[i]();
  }
  await Promise.all(all);
  assert.deepEqual(batches, [[1], [2, 3], [4, 5]]);
});
