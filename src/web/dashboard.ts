// GET /autopilot: a small read-only page of what Autopilot is doing — recent runs, locks, and the
// monitored checks. Behind AUTOPILOT_METRICS_TOKEN (bearer or ?token=); closed when that is unset.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import { redact } from "../redact.js";

const escape = (v: unknown) => redact(String(v ?? "")).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const DASHBOARD_CLOSED =
  "The /autopilot dashboard is closed: set AUTOPILOT_METRICS_TOKEN, then open /autopilot?token=<token> (or send Authorization: Bearer <token>).\n";

export function dashboardHandler(db: pg.Pool, token: string | undefined) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" || url.pathname !== "/autopilot") return false;
    if (!token) {
      res.writeHead(403, { "content-type": "text/plain" }).end(DASHBOARD_CLOSED);
      return true;
    }
    if (!allowed(req, url, token)) {
      res.writeHead(401, { "content-type": "text/plain" }).end("token required (Authorization: Bearer …, or ?token=…)\n");
      return true;
    }
    try {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(await page(db));
    } catch {
      res.writeHead(503, { "content-type": "text/plain" }).end("store unavailable\n");
    }
    return true;
  };
}

function allowed(req: IncomingMessage, url: URL, token: string): boolean {
  const given = Buffer.from(req.headers.authorization?.replace(/^Bearer\s+/i, "") ?? url.searchParams.get("token") ?? "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function page(db: pg.Pool): Promise<string> {
  const [runs, locks, checks] = await Promise.all([
    db.query(`select id, repo, kind, trigger, environment, status, title, created_at from runs order by id desc limit 30`),
    db.query(`select repo, environment, locked_by, reason, locked_at from environment_locks order by locked_at desc`),
    db.query(`select repo, check_name, status, down_since, updated_at from health_state order by repo, check_name`),
  ]);
  return `<!doctype html><html><head><meta charset="utf-8"><title>Autopilot</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin-bottom:2rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
.success,.healthy{color:#1a7f37}.failure,.unhealthy{color:#cf222e}.action_required,.degraded,.neutral{color:#9a6700}</style></head><body>
<h1>Autopilot</h1>
<h2>Checks</h2>${table(
    ["Repository", "Check", "Status", "Down since", "Updated"],
    checks.rows.map((c) => [c.repo, c.check_name, cls(c.status), c.down_since, c.updated_at]),
  )}
<h2>Locks</h2>${table(
    ["Repository", "Environment", "By", "Reason", "Since"],
    locks.rows.map((l) => [l.repo, l.environment, l.locked_by, l.reason, l.locked_at]),
  )}
<h2>Recent runs</h2>${table(
    ["#", "Repository", "Kind", "Trigger", "Environment", "Status", "Result", "Created"],
    runs.rows.map((r) => [r.id, r.repo, r.kind, r.trigger, r.environment, cls(r.status), r.title, r.created_at]),
  )}
<p><a href="/metrics">Prometheus metrics</a></p></body></html>`;
}

/** A status cell, coloured by its class; the marker keeps it from being escaped twice. */
const cls = (status: string) => ({ html: `<span class="${escape(status)}">${escape(status)}</span>` });

function table(headers: string[], rows: unknown[][]): string {
  if (rows.length === 0) return "<p>None.</p>";
  const cell = (v: unknown) => (v && typeof v === "object" && "html" in v ? (v as { html: string }).html : v instanceof Date ? v.toISOString() : escape(v));
  return `<table><tr>${headers.map((h) => `<th>${escape(h)}</th>`).join("")}</tr>${rows.map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join("")}</tr>`).join("")}</table>`;
}
