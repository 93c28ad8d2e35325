// GET /metrics for Prometheus. Values come from the store, so every replica answers the same; a
// scrape is cached for a few seconds because building it reads the whole health log's aggregates.
// Closed unless the operator opens it: a bearer token (AUTOPILOT_METRICS_TOKEN), or
// AUTOPILOT_METRICS_PUBLIC=true for a scraper on a trusted network — repository names, check names
// and failure counts are not for everyone.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import { renderMetrics, type RenderedMetrics } from "./metrics.js";

const CACHE_MS = 10_000;

export interface MetricsAccess {
  token?: string;
  /** Served to anyone, token or not. */
  public: boolean;
}

export const METRICS_CLOSED =
  "GET /metrics is closed: set AUTOPILOT_METRICS_TOKEN and scrape with Authorization: Bearer <token>, or set AUTOPILOT_METRICS_PUBLIC=true to serve it without a token.\n";

export function metricsHandler(db: pg.Pool, access: MetricsAccess) {
  let cached: { at: number; metrics: Promise<RenderedMetrics> } | undefined;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return false;
    if (!access.public && !access.token) {
      res.writeHead(403, { "content-type": "text/plain" }).end(METRICS_CLOSED);
      return true;
    }
    if (!access.public && access.token && !bearerMatches(req.headers.authorization, access.token)) {
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
