// Every replica hears when a repository's default branch moved, whichever replica received the push:
// its cached config (which routes pushes to other branches without asking GitHub) is stale from then
// on. The news travels as a PostgreSQL notification on the store, so no replica trusts a config the
// default branch no longer has for longer than the notification takes.
import pg from "pg";
import type { Logger } from "../logger.js";
import type { Queryable } from "./health-rollups.js";

const CHANNEL = "autopilot_default_branch_moved";
const RECONNECT_MS = 1000;

/** Tells every replica (this one included) that `repo`'s default branch moved. */
export async function announceDefaultBranchMoved(db: Queryable, repo: string): Promise<void> {
  await db.query("select pg_notify($1, $2)", [CHANNEL, repo.toLowerCase()]);
}

export interface DefaultBranchMoves {
  /** Called with each repository whose default branch moved. */
  onMove(repo: string): void;
  /**
   * Called with true once listening, false when the connection is lost: while not listening moves may
   * be missed, so nothing learnt may be trusted (and what was learnt before is stale).
   */
  onListening(listening: boolean): void;
}

/** Listens on one dedicated connection, reconnecting after a loss; the returned function stops it. */
export function listenForDefaultBranchMoves(url: string, handlers: DefaultBranchMoves, log: Logger): () => Promise<void> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: "autopilot-branch-moves", keepAlive: true });
    next.on("notification", (message) => message.payload && handlers.onMove(message.payload));
    next.on("error", () => lost(next));
    next.on("end", () => lost(next));
    try {
      await next.connect();
      await next.query(`listen ${CHANNEL}`);
    } catch (error) {
      log.warn({ err: error }, "could not listen for default-branch moves; pushes to other branches ask GitHub until it can");
      lost(next);
      return;
    }
    if (stopped) return void next.end().catch(() => undefined);
    client = next;
    handlers.onListening(true);
  };
  const lost = (which: pg.Client) => {
    if (client === which) client = undefined;
    which.end().catch(() => undefined);
    handlers.onListening(false);
    if (!stopped && !retry) retry = setTimeout(() => ((retry = undefined), void connect()), RECONNECT_MS).unref();
  };

  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
