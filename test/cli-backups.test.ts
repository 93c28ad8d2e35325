// `autopilot backups list|download` through bin/autopilot.js against a real store.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, query } from "./harness/postgres.js";

const bin = fileURLToPath(new URL("../bin/autopilot.js", import.meta.url));

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("backups list filters by repository and environment; download checks the sha256 and fails on a damaged file", async () => {
  const store = await createTestDatabase("cli_backups");
  const env = { DATABASE_URL: store.url };
  const empty = await autopilot(["backups", "list"], env); // also brings the store's schema up to date
  assert.equal(empty.code, 0, empty.stderr);
  const dir = mkdtempSync(path.join(tmpdir(), "autopilot-cli-backups-"));
  const file = path.join(dir, "a.dump");
  writeFileSync(file, "dump bytes");
  const sha = createHash("sha256").update("dump bytes").digest("hex");
  await query(
    store.url,
    `insert into backups (id, repo, environment, status, path, size_bytes, sha256) values
       ('bk_20260101000000_aaaaaa', 'acme/shop', 'production', 'ok', $1, 10, $2),
       ('bk_20260101000000_bbbbbb', 'acme/shop', 'staging', 'ok', $1, 10, $3),
       ('bk_20260101000000_cccccc', 'other/repo', 'production', 'pruned', null, null, null)`,
    [file, sha, "0".repeat(64)],
  );
  const listed = await autopilot(["backups", "list", "--repo", "acme/shop", "--environment", "production"], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    listed.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t")[0]),
    ["bk_20260101000000_aaaaaa"],
  );

  const out = path.join(dir, "copy.dump");
  const ok = await autopilot(["backups", "download", "--id", "bk_20260101000000_aaaaaa", "--out", out], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(readFileSync(out, "utf8"), "dump bytes");

  const damaged = path.join(dir, "damaged.dump");
  const bad = await autopilot(["backups", "download", "--id", "bk_20260101000000_bbbbbb", "--out", damaged], env);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /damaged: sha256/);
  assert.equal(existsSync(damaged), false, "a bad copy is not left behind");
  const missing = await autopilot(["backups", "download", "--id", "bk_20260101000000_dddddd", "--out", damaged], env);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no backup bk_20260101000000_dddddd/);
  assert.doesNotMatch(bad.stderr + missing.stderr, new RegExp(new URL(store.url).password || "\\u0000"));
  await store.drop();
});
