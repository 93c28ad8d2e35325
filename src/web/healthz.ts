// GET /healthz: the process is up and its store answers. It is handed a pool of its own (Store's
// healthzPool), so the answer never waits for a slot behind busy jobs.
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";

export function healthzHandler(db: pg.Pool) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/healthz") return false;
    await answerWhenStoreAnswers(db, res, { status: "ok" });
    return true;
  };
}

/** 200 with `body` when the store answers, else 503. */
export async function answerWhenStoreAnswers(db: pg.Pool, res: ServerResponse, body: object): Promise<void> {
  const ok = await db.query("select 1").then(
    () => true,
    () => false,
  );
  res.writeHead(ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(ok ? body : { status: "store unavailable" }));
}
