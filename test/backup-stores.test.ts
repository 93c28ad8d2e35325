// Backups in S3 (the AWS SDK against s3rver) and Supabase Storage (supabase-js against a fake of the
// Storage API), sealed with AES-256-GCM, against a real PostgreSQL with the real pg_dump/pg_restore.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import S3rver from "s3rver";
import { backupKeyId, backupEnvironmentProblems, resolveBackupSettings, type BackupKey, type BackupSettings } from "../src/config/backup-config.js";
import { parseServerConfig } from "../src/config/server-config.js";
import { CHUNK_BYTES, decryptStream, encryptStream, BackupKeyError, BackupIntegrityError } from "../src/backups/encryption.js";
import { withBackupFile } from "../src/backups/fetch-backup.js";
import { S3BackupStore } from "../src/backups/s3-store.js";
import { takeBackup, BackupFailedError } from "../src/backups/service.js";
import { restoreDatabase } from "../src/database/restore.js";
import { getBackup, insertBackup, listBackups } from "../src/store/backups.js";
import { createTestDatabase, query, type TestDatabase } from "./harness/postgres.js";
import { startFakeSupabaseStorage, type FakeSupabaseStorage } from "./harness/fake-supabase-storage.js";
import { useTestStore } from "./harness/test-store.js";

const newKey = (): BackupKey => {
  const key = randomBytes(32);
  return { id: backupKeyId(key), key };
};

async function seal(data: Buffer, key: BackupKey): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(
    Readable.from([data]),
    encryptStream(key),
    new PassThrough().on("data", (d: Buffer) => parts.push(d)),
  );
  return Buffer.concat(parts);
}

async function open(sealed: Buffer, ring: BackupKey[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  // Fed in odd-sized pieces: chunk boundaries must not depend on how the bytes arrive.
  const pieces = [];
  for (let i = 0; i < sealed.length; i += 99_991) pieces.push(sealed.subarray(i, i + 99_991));
  await pipeline(
    Readable.from(pieces),
    decryptStream(ring, ["AUTOPILOT_BACKUP_KEY"]),
    new PassThrough().on("data", (d: Buffer) => parts.push(d)),
  );
  return Buffer.concat(parts);
}

describe("encryption", () => {
  test("round trip at every chunk boundary, with a fresh data key each time", async () => {
    const key = newKey();
    for (const size of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES + 12345]) {
      const data = randomBytes(size);
      const sealed = await seal(data, key);
      // Under 16 bytes the plaintext may turn up in the ciphertext by chance (one byte, one time in five).
      assert.ok(size < 16 || !sealed.includes(data.subarray(0, 64)), "the plaintext does not show");
      assert.deepEqual(await open(sealed, [key]), data, `size ${size}`);
    }
    const data = randomBytes(1000);
    assert.notDeepEqual(await seal(data, key), await seal(data, key));
  });

  test("a wrong key is refused by id, a tampered or truncated backup fails authentication", async () => {
    const key = newKey();
    const sealed = await seal(randomBytes(2 * CHUNK_BYTES + 5), key);
    await assert.rejects(
      open(sealed, [newKey()]),
      (e: Error) => e instanceof BackupKeyError && e.message.includes(key.id.slice(0, 16)) && e.message.includes("$AUTOPILOT_BACKUP_KEY"),
    );
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 100]! ^= 1;
    await assert.rejects(open(tampered, [key]), BackupIntegrityError);
    const cut = sealed.subarray(0, sealed.length - ((sealed.length - 80) % (CHUNK_BYTES + 16))); // ends on a chunk boundary
    await assert.rejects(open(cut, [key]), BackupIntegrityError);
  });

  test("rotation: a backup sealed with the previous key opens while previous_keys_env lists it", async () => {
    const old = newKey();
    const current = newKey();
    const data = randomBytes(3000);
    const sealed = await seal(data, old);
    const env = { NEW_KEY: current.key.toString("base64"), OLD_KEYS: `${newKey().key.toString("base64")}, ${old.key.toString("base64")}` };
    const config = parseServerConfig("s.yml", "backups:\n  encryption_key_env: NEW_KEY\n  previous_keys_env: OLD_KEYS\n");
    const settings = resolveBackupSettings(config, "o/r", "production", env);
    assert.equal(settings.encryptionKey?.id, current.id);
    assert.deepEqual(await open(sealed, settings.keyRing), data);
    const withoutOld = resolveBackupSettings(config, "o/r", "production", { NEW_KEY: env.NEW_KEY });
    await assert.rejects(open(sealed, withoutOld.keyRing), BackupKeyError);
  });
});

describe("backups config", () => {
  test("a remote store without its section, and a store that does not exist, are config errors", () => {
    assert.throws(
      () =>
        parseServerConfig(
          "srv.yml",
          "backups:\n  store: s3\ntargets:\n  - repo: o/r\n    environment: prod\n    database_url_env: DB\n    backups:\n      store: supabase\n",
        ),
      (e: Error) => /backups\.s3: store: s3 needs an s3 section/.test(e.message) && /targets\[0\]\.backups\.supabase: store: supabase needs/.test(e.message),
    );
    assert.throws(() => parseServerConfig("srv.yml", "backups:\n  store: dropbox\n"), /srv\.yml:2: backups\.store/);
    assert.throws(() => parseServerConfig("srv.yml", "backups:\n  bucket: x\n"), /unknown key "bucket"/);
  });

  test("every missing variable and bad key at once, never quoting a value", () => {
    const config = parseServerConfig(
      "srv.yml",
      `backups:
  store: s3
  encryption_key_env: KEY
  previous_keys_env: OLD
  s3: { bucket: autopilot, access_key_id_env: AK, secret_access_key_env: SK }
targets:
  - { repo: o/r, environment: prod, database_url_env: DB, backups: { store: supabase, supabase: { url_env: SB_URL, service_key_env: SB_KEY, bucket: backups } } }
`,
    );
    const problems = backupEnvironmentProblems("srv.yml", config, { KEY: "c2hvcnQ=", OLD: "not-base64-secretvalue", AK: "x" });
    const text = problems.map((p) => `${p.key}: ${p.message}`).join("\n");
    assert.match(text, /backups\.s3\.secret_access_key_env: \$SK is not set/);
    assert.match(text, /backups\.encryption_key_env: \$KEY must hold a 32-byte key/);
    assert.match(text, /backups\.previous_keys_env: .*OLD/);
    assert.match(text, /targets\[0\]\.backups\.supabase\.url_env: \$SB_URL is not set/);
    assert.match(text, /targets\[0\]\.backups\.supabase\.service_key_env: \$SB_KEY is not set/);
    assert.ok(!text.includes("not-base64-secretvalue") && !text.includes("c2hvcnQ="));
  });
});

const REPO = "acme/shop";
const ENV = "production";

async function seeded(rows: number): Promise<TestDatabase> {
  const db = await createTestDatabase("bks");
  await query(
    db.url,
    `create table items (id int primary key, body text not null);
    insert into items select g, md5(g::text || random()::text) || md5(random()::text) from generate_series(1, ${rows}) g`,
  );
  return db;
}

const count = async (url: string) => Number((await query(url, "select count(*)::int as n from items"))[0].n);

async function restoreInto(settings: BackupSettings, id: string, store: ReturnType<typeof useTestStore>, url: string) {
  const backup = (await getBackup(store.store.pool, id))!;
  return withBackupFile(backup, settings, ({ file, expectedSha256 }) => restoreDatabase({ databaseUrl: url, file, expectedSha256 }));
}

describe("S3 store (s3rver)", () => {
  const store = useTestStore("bks3");
  let server: S3rver;
  let endpoint: string;
  let db: TestDatabase;
  const key = newKey();
  const settings = (): BackupSettings => ({
    store: "s3",
    directory: mkdtempSync(path.join(tmpdir(), "bk-stage-")),
    retentionDays: 30,
    s3: { endpoint, region: "us-east-1", bucket: "autopilot", prefix: "backups/", forcePathStyle: true, accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    encryptionKey: key,
    keyRing: [key],
    keyVariables: ["AUTOPILOT_BACKUP_KEY"],
  });

  before(async () => {
    server = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: mkdtempSync(path.join(tmpdir(), "s3rver-")),
      configureBuckets: [{ name: "autopilot" }],
    });
    const address = (await server.run()) as { port: number };
    endpoint = `http://127.0.0.1:${address.port}`;
    db = await seeded(2000);
  });
  after(async () => {
    await server.close();
    await db.drop();
  });

  test("an encrypted backup goes to its final key, no partial object left, and restores; retention prunes in the bucket", async () => {
    const s = settings();
    const s3 = new S3BackupStore(s.s3!);
    await s3.put("backups/acme/shop/production/bk_old-20200101T000000000Z.dump.enc", Readable.from([Buffer.from("old")]), 3);
    await insertBackup(store.store.pool, {
      id: "bk_old",
      repo: REPO,
      environment: ENV,
      runId: null,
      commitSha: null,
      status: "ok",
      store: "s3",
      path: "backups/acme/shop/production/bk_old-20200101T000000000Z.dump.enc",
      sizeBytes: 3,
      sha256: "x",
      durationMs: 1,
      error: null,
      createdAt: new Date("2020-01-01"),
    });
    const record = await takeBackup({ db: store.store.pool, settings: s, databaseUrl: db.url, repo: REPO, environment: ENV, runId: null, commitSha: null });
    assert.equal(record.store, "s3");
    assert.match(record.path!, /^backups\/acme\/shop\/production\/bk_\d+_[0-9a-f]+-\d{8}T\d{9}Z\.dump\.enc$/);
    const objects = await s3.list("backups/acme/shop/production/");
    assert.deepEqual(
      objects.map((o) => o.key),
      [record.path],
      "only the new backup: the old one pruned, no partial object",
    );
    assert.equal(objects[0]!.sizeBytes, record.sizeBytes);
    assert.deepEqual(
      (await listBackups(store.store.pool, REPO, ENV)).map((b) => b.id),
      [record.id],
    );

    await query(db.url, "delete from items where id > 10");
    await restoreInto(s, record.id, store, db.url);
    assert.equal(await count(db.url), 2000);
    await assert.rejects(
      restoreInto({ ...s, keyRing: [newKey()] }, record.id, store, db.url),
      /key id [0-9a-f]+, which is not among the keys of \$AUTOPILOT_BACKUP_KEY/,
    );
  });

  test("an unreachable S3 fails the backup clearly and records it failed, with the secret key redacted", async () => {
    const s = settings();
    s.s3 = { ...s.s3!, endpoint: "http://127.0.0.1:1", secretAccessKey: "very-secret-access-key-value" };
    await assert.rejects(
      takeBackup({ db: store.store.pool, settings: s, databaseUrl: db.url, repo: REPO, environment: "staging", runId: null, commitSha: null }),
      (e: Error) =>
        e instanceof BackupFailedError &&
        /s3:\/\/autopilot\/backups\/ at http:\/\/127\.0\.0\.1:1: upload of .*failed/.test(e.message) &&
        !e.message.includes("very-secret"),
    );
    const [failed] = await listBackups(store.store.pool, REPO, "staging");
    assert.equal(failed?.status, "failed");
  });

  test("S3 going down mid-upload (the upload overlapping the dump): the backup fails, nothing recorded ok, no object or staging file left", async () => {
    const proxy = await cuttingProxy(endpoint, 20_000);
    const s = settings();
    s.s3 = { ...s.s3!, endpoint: proxy.url };
    try {
      await assert.rejects(
        takeBackup({ db: store.store.pool, settings: s, databaseUrl: db.url, repo: REPO, environment: "qa", runId: null, commitSha: null }),
        (e: Error) =>
          e instanceof BackupFailedError &&
          /s3:\/\/autopilot\/backups\/ at http:\/\/127\.0\.0\.1:\d+: upload of backups\/acme\/shop\/qa\/\.partial-bk_.* failed/.test(e.message),
      );
    } finally {
      await proxy.close();
    }
    const records = await listBackups(store.store.pool, REPO, "qa");
    assert.deepEqual(
      records.map((r) => r.status),
      ["failed"],
    );
    assert.deepEqual(await new S3BackupStore(settings().s3!).list("backups/acme/shop/qa/"), []);
    assert.deepEqual(
      readdirSync(s.directory, { recursive: true }).filter((f) => String(f).endsWith(".dump") || String(f).endsWith(".partial")),
      [],
    );
  });
});

/**
 * An HTTP proxy to `target` that cuts every connection once `cutAfter` request-body bytes went
 * through — its own and those it opened to the target, or the target would wait for the rest of a
 * body forever and never close.
 */
async function cuttingProxy(target: string, cutAfter: number): Promise<{ url: string; close: () => Promise<void> }> {
  let received = 0;
  const sockets = new Set<import("node:net").Socket>();
  const upstreams = new Set<http.ClientRequest>();
  const cut = () => {
    for (const socket of sockets) socket.destroy();
    for (const upstream of upstreams) upstream.destroy();
  };
  const server = http.createServer((req, res) => {
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstreams.add(upstream);
    upstream.on("close", () => upstreams.delete(upstream));
    upstream.on("error", () => res.destroy());
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > cutAfter) cut();
    });
    req.pipe(upstream);
  });
  server.on("connection", (socket) => (sockets.add(socket), socket.on("close", () => sockets.delete(socket))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => (cut(), server.closeAllConnections(), server.close(() => resolve()))) };
}

describe("Supabase store (supabase-js against a fake Storage API)", () => {
  const store = useTestStore("bksb");
  let fake: FakeSupabaseStorage;
  let db: TestDatabase;
  let small: TestDatabase;
  const settings = (): BackupSettings => ({
    store: "supabase",
    directory: mkdtempSync(path.join(tmpdir(), "bk-stage-")),
    retentionDays: 30,
    supabase: { url: fake.url, serviceKey: fake.serviceKey, bucket: "backups", prefix: "" },
    keyRing: [],
    keyVariables: [],
  });

  before(async () => {
    fake = await startFakeSupabaseStorage(["backups"]);
    db = await seeded(175_000); // a dump over 6 MB: a resumable (TUS) upload
    small = await seeded(100);
  });
  after(async () => {
    await fake.close();
    await db.drop();
    await small.drop();
  });

  test("a dump over 6 MB uploads resumably (TUS), streamed, and restores", async () => {
    const rssBefore = process.memoryUsage().rss;
    const record = await takeBackup({
      db: store.store.pool,
      settings: settings(),
      databaseUrl: db.url,
      repo: REPO,
      environment: ENV,
      runId: null,
      commitSha: null,
    });
    assert.ok(record.sizeBytes! > 6 * 1024 * 1024, `dump of ${record.sizeBytes} bytes`);
    assert.ok(fake.requests.filter((r) => r.startsWith("PATCH /storage/v1/upload/resumable/")).length >= 2);
    assert.deepEqual(await fake.keys("backups"), [record.path]);
    assert.match(record.path!, /^acme\/shop\/production\/bk_.*\.dump$/);
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024, "not held in memory whole");
    await query(db.url, "truncate items");
    await restoreInto(settings(), record.id, store, db.url);
    assert.equal(await count(db.url), 175_000);
  });

  test("a store that goes down mid-upload: the backup fails, nothing recorded ok, no object left", async () => {
    const before = (await listBackups(store.store.pool, REPO, "staging")).length;
    fake.goDownAfter(3 * 1024 * 1024); // inside the first 6 MB chunk
    await assert.rejects(
      takeBackup({ db: store.store.pool, settings: settings(), databaseUrl: db.url, repo: REPO, environment: "staging", runId: null, commitSha: null }),
      (e: Error) =>
        e instanceof BackupFailedError &&
        /supabase bucket backups\/ at http:\/\/127\.0\.0\.1:\d+: upload of acme\/shop\/staging\/\.partial-bk_.* failed/.test(e.message),
    );
    fake.comeBack();
    const records = await listBackups(store.store.pool, REPO, "staging");
    assert.equal(records.length, before + 1);
    assert.equal(records[0]!.status, "failed");
    assert.ok(!(await fake.keys("backups")).some((k) => k.includes("staging")));
  });

  test("a rejected service key is reported without the key", async () => {
    const s = settings();
    s.supabase = { ...s.supabase!, serviceKey: "sb_secret_wrong_but_still_secret_0123456789" };
    await assert.rejects(
      takeBackup({ db: store.store.pool, settings: s, databaseUrl: small.url, repo: REPO, environment: "qa", runId: null, commitSha: null }),
      (e: Error) => /HTTP 403/.test(e.message) && !e.message.includes("sb_secret_wrong_but_still_secret"),
    );
  });
});
