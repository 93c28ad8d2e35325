// Backups in any S3-compatible store (AWS, R2, MinIO, Supabase's S3 endpoint) through the AWS SDK v3.
// Uploads are multipart (lib-storage), streamed with at most two 8 MiB parts in memory.
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Readable } from "node:stream";
import type { S3Settings } from "../config/backup-config.js";
import { redact } from "../redact.js";
import { StoreUnavailableError, type BackupStore, type StoredObject } from "./store.js";

const PART_BYTES = 8 * 1024 * 1024;

export class S3BackupStore implements BackupStore {
  readonly kind = "s3" as const;
  /** A multipart upload needs no length up front. */
  readonly streamsUnknownLength = true;
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.description = `s3://${settings.bucket}/${settings.prefix}${settings.endpoint ? ` at ${settings.endpoint}` : ""}`;
    this.client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: 3,
    });
  }

  async put(key: string, body: Readable, sizeBytes?: number): Promise<void> {
    await this.call("upload", key, async () => {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.settings.bucket,
          Key: key,
          Body: body,
          ...(sizeBytes === undefined ? {} : { ContentLength: sizeBytes }),
          ContentType: "application/octet-stream",
        },
        partSize: PART_BYTES,
        queueSize: 2,
        leavePartsOnError: false,
      });
      // A failed body (the dump or the encryption) must abort the upload, not leave it waiting.
      body.once("error", () => void upload.abort().catch(() => undefined));
      await upload.done();
    });
  }

  async get(key: string): Promise<Readable> {
    const out = await this.call("download", key, () => this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key })));
    return out.Body as Readable;
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      return { key, sizeBytes: Number(head.ContentLength ?? 0) };
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw this.unavailable("stat", key, error);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.call("list", prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) if (o.Key) objects.push({ key: o.Key, sizeBytes: Number(o.Size ?? 0) });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  async remove(key: string): Promise<void> {
    await this.call("delete", key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key })));
  }

  /** S3 has no rename: a server-side copy (no bytes through us), then the delete. */
  async move(from: string, to: string): Promise<void> {
    const source = `${this.settings.bucket}/${from.split("/").map(encodeURIComponent).join("/")}`;
    await this.call("copy", from, () => this.client.send(new CopyObjectCommand({ Bucket: this.settings.bucket, Key: to, CopySource: source })));
    await this.remove(from);
  }

  private async call<T>(what: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.unavailable(what, key, error);
    }
  }

  private unavailable(what: string, key: string, error: unknown): StoreUnavailableError {
    const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : "";
    const detail = e.message || e.code || e.name || String(error);
    return new StoreUnavailableError(redact(`${this.description}: ${what} of ${key} failed${status}: ${detail}`));
  }
}
