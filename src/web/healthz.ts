// GET /healthz: the process is up and its store answers. It is handed a pool of its own (Store's
// healthzPool), so the answer never waits for a slot behind busy jobs.
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";

export function healthzHandler(db: pg.Pool) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/healthz") return false;
    try {
      await db.query("select 1");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
    } catch {
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ status: "store unavailable" }));
    }
    return true;
  };
}
