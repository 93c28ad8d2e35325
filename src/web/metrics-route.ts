// GET /metrics for Prometheus. Values come from the store, so every replica answers the same; a
// scrape is cached for a few seconds because building it reads the whole health log's aggregates.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import { renderMetrics, type RenderedMetrics } from "./metrics.js";

const CACHE_MS = 10_000;

export function metricsHandler(db: pg.Pool, token: string | undefined) {
  let cached: { at: number; metrics: Promise<RenderedMetrics> } | undefined;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return false;
    if (token && !bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { "www-authenticate": 'Bearer realm="autopilot"', "content-type": "text/plain" }).end("bearer token required\n");
      return true;
    }
    if (!cached || Date.now() - cached.at > CACHE_MS) cached = { at: Date.now(), metrics: renderMetrics(db) };
    try {
      const { contentType, body } = await cached.metrics;
      res.writeHead(200, { "content-type": contentType }).end(body);
    } catch {
      cached = undefined;
      res.writeHead(503, { "content-type": "text/plain" }).end("store unavailable\n");
    }
    return true;
  };
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
