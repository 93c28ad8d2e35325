// A local HTTP fake of the Supabase Storage API: exactly the endpoints Autopilot's supabase-js calls
// and its TUS uploads use (upload, resumable upload POST/PATCH/HEAD, sign + signed download, list,
// remove, move). Anything else is a 400 naming the route. Objects are files in a temp folder, so a
// 100 MB dump costs no memory here. `goDownAfter(bytes)` cuts every connection once that many
// upload bytes arrived: a store that dies mid-upload.
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";

export interface FakeSupabaseStorage {
  url: string;
  serviceKey: string;
  /** Keys of the objects of a bucket. */
  keys(bucket: string): Promise<string[]>;
  /** Routes received, "METHOD /path", in order. */
  requests: string[];
  goDownAfter(bytes: number): void;
  comeBack(): void;
  close(): Promise<void>;
}

interface Upload {
  bucket: string;
  key: string;
  length: number;
  offset: number;
  file: string;
}

export async function startFakeSupabaseStorage(buckets: string[]): Promise<FakeSupabaseStorage> {
  const dir = await mkdtemp(path.join(tmpdir(), "fake-supabase-"));
  const serviceKey = `sb_secret_${randomBytes(16).toString("hex")}`;
  const objects = new Map<string, { file: string; size: number }>(); // "bucket/key"
  const uploads = new Map<string, Upload>();
  const requests: string[] = [];
  let downAfter = Infinity;
  let received = 0;
  const sockets = new Set<import("node:net").Socket>();

  const fileFor = () => path.join(dir, randomBytes(8).toString("hex"));
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const readJson = async (req: http.IncomingMessage): Promise<Record<string, unknown>> => {
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    return JSON.parse(Buffer.concat(parts).toString("utf8") || "{}");
  };
  const countBytes = (req: http.IncomingMessage) => {
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > downAfter) for (const s of sockets) s.destroy();
    });
  };
  const store = async (req: http.IncomingMessage, file: string, append = false) => {
    countBytes(req);
    await pipeline(req, createWriteStream(file, { flags: append ? "a" : "w" }));
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, "http://fake");
    const route = `${req.method} ${url.pathname}`;
    requests.push(route);
    try {
      if (url.pathname.startsWith("/storage/v1/object/sign/") && req.method === "GET") {
        const [bucket, ...rest] = decodeURIComponent(url.pathname.slice("/storage/v1/object/sign/".length)).split("/");
        const object = objects.get(`${bucket}/${rest.join("/")}`);
        if (url.searchParams.get("token") !== signature(bucket, rest.join("/"))) return json(res, 400, { error: "InvalidSignature" });
        if (!object) return json(res, 404, { statusCode: "404", error: "not_found", message: "Object not found" });
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": object.size });
        return void (await pipeline(createReadStream(object.file), res));
      }
      if (req.headers.authorization !== `Bearer ${serviceKey}`)
        return json(res, 403, { statusCode: "403", error: "Unauthorized", message: "invalid signature" });
      if (route === "POST /storage/v1/upload/resumable") {
        const metadata = Object.fromEntries(
          String(req.headers["upload-metadata"] ?? "")
            .split(",")
            .map((pair) => pair.split(" "))
            .map(([k, v]) => [k, Buffer.from(v ?? "", "base64").toString("utf8")]),
        );
        const length = Number(req.headers["upload-length"]);
        if (req.headers["tus-resumable"] !== "1.0.0" || !metadata.bucketName || !metadata.objectName || !Number.isInteger(length)) {
          return json(res, 400, { error: "bad TUS creation", headers: req.headers });
        }
        const id = randomBytes(8).toString("hex");
        const upload = { bucket: metadata.bucketName, key: metadata.objectName, length, offset: 0, file: fileFor() };
        await writeFile(upload.file, "");
        uploads.set(id, upload);
        res.writeHead(201, { location: `/storage/v1/upload/resumable/${id}`, "tus-resumable": "1.0.0" }).end();
        return;
      }
      const tus = /^\/storage\/v1\/upload\/resumable\/([0-9a-f]+)$/.exec(url.pathname);
      if (tus && (req.method === "PATCH" || req.method === "HEAD")) {
        const upload = uploads.get(tus[1]!);
        if (!upload) return json(res, 404, { error: "no such upload" });
        if (req.method === "HEAD") {
          res.writeHead(200, { "upload-offset": upload.offset, "upload-length": upload.length, "tus-resumable": "1.0.0" }).end();
          return;
        }
        if (Number(req.headers["upload-offset"]) !== upload.offset || req.headers["content-type"] !== "application/offset+octet-stream") {
          return json(res, 409, { error: `offset ${req.headers["upload-offset"]} is not ${upload.offset}` });
        }
        const part = fileFor();
        await store(req, part);
        const size = (await stat(part)).size;
        if (size !== 6 * 1024 * 1024 && upload.offset + size !== upload.length) return json(res, 400, { error: `chunks must be 6 MB, got ${size}` });
        await appendFile(upload.file, await readFile(part));
        await rm(part);
        upload.offset += size;
        if (upload.offset === upload.length) {
          objects.set(`${upload.bucket}/${upload.key}`, { file: upload.file, size: upload.length });
          uploads.delete(tus[1]!);
        }
        res.writeHead(204, { "upload-offset": upload.offset, "tus-resumable": "1.0.0" }).end();
        return;
      }
      if (req.method === "POST" && url.pathname.startsWith("/storage/v1/object/sign/")) {
        const [bucket, ...rest] = decodeURIComponent(url.pathname.slice("/storage/v1/object/sign/".length)).split("/");
        const key = rest.join("/");
        if (!objects.has(`${bucket}/${key}`)) return json(res, 404, { statusCode: "404", error: "not_found", message: "Object not found" });
        return json(res, 200, { signedURL: `/object/sign/${bucket}/${key}?token=${signature(bucket!, key)}` });
      }
      if (req.method === "POST" && url.pathname.startsWith("/storage/v1/object/list/")) {
        const bucket = url.pathname.slice("/storage/v1/object/list/".length);
        const body = await readJson(req);
        const folder = String(body.prefix ?? "");
        const search = String(body.search ?? "");
        const entries = [...objects.entries()]
          .filter(([k]) => k.startsWith(`${bucket}/${folder ? `${folder}/` : ""}`))
          .map(([k, o]) => ({ name: k.slice(bucket.length + 1 + (folder ? folder.length + 1 : 0)), o }))
          .filter((e) => !e.name.includes("/") && e.name.startsWith(search))
          .sort((a, b) => a.name.localeCompare(b.name))
          .slice(Number(body.offset ?? 0), Number(body.offset ?? 0) + Number(body.limit ?? 100));
        return json(
          res,
          200,
          entries.map((e) => ({ name: e.name, id: e.name, metadata: { size: e.o.size, mimetype: "application/octet-stream" } })),
        );
      }
      if (route === "POST /storage/v1/object/move") {
        const body = await readJson(req);
        const from = objects.get(`${body.bucketId}/${body.sourceKey}`);
        if (!from) return json(res, 404, { statusCode: "404", error: "not_found", message: "Object not found" });
        objects.delete(`${body.bucketId}/${body.sourceKey}`);
        objects.set(`${body.bucketId}/${body.destinationKey}`, from);
        return json(res, 200, { message: "Successfully moved" });
      }
      if (req.method === "DELETE" && /^\/storage\/v1\/object\/[^/]+$/.test(url.pathname)) {
        const bucket = url.pathname.slice("/storage/v1/object/".length);
        const body = await readJson(req);
        const removed = [];
        for (const key of (body.prefixes as string[]) ?? []) {
          const o = objects.get(`${bucket}/${key}`);
          if (o) (objects.delete(`${bucket}/${key}`), await rm(o.file, { force: true }), removed.push({ name: key }));
        }
        return json(res, 200, removed);
      }
      if (req.method === "POST" && url.pathname.startsWith("/storage/v1/object/")) {
        const [bucket, ...rest] = decodeURIComponent(url.pathname.slice("/storage/v1/object/".length)).split("/");
        if (!buckets.includes(bucket!)) return json(res, 404, { statusCode: "404", error: "Bucket not found", message: "Bucket not found" });
        const key = rest.join("/");
        if (objects.has(`${bucket}/${key}`) && req.headers["x-upsert"] !== "true")
          return json(res, 400, { statusCode: "409", error: "Duplicate", message: "The resource already exists" });
        const file = fileFor();
        await store(req, file);
        objects.set(`${bucket}/${key}`, { file, size: (await stat(file)).size });
        return json(res, 200, { Key: `${bucket}/${key}`, Id: randomBytes(8).toString("hex") });
      }
      json(res, 400, { error: `unexpected route: ${route}` });
    } catch (error) {
      if (!res.headersSent) json(res, 500, { error: String(error) });
      else res.destroy();
    }
  });
  server.on("connection", (s) => {
    if (received > downAfter) return void s.destroy();
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const signature = (bucket: string, key: string) => Buffer.from(`${serviceKey}:${bucket}/${key}`).toString("base64url").slice(-24);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serviceKey,
    requests,
    keys: async (bucket) => [...objects.keys()].filter((k) => k.startsWith(`${bucket}/`)).map((k) => k.slice(bucket.length + 1)),
    comeBack: () => {
      downAfter = Infinity;
    },
    goDownAfter: (bytes) => {
      downAfter = received + bytes;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
