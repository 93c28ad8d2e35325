// Pushes answered before their repository's config was at hand, kept until they are routed
// (jobs/push-router.ts), so a push answered 2xx is never lost with the replica that answered it.
import type pg from "pg";
import { int8 } from "./int8.js";

/** What routing a push needs of its delivery. */
export interface PushToRoute {
  deliveryId: string;
  repo: string;
  installationId: number;
  /** `refs/heads/…` */
  ref: string;
  commitSha: string;
  defaultBranch: string;
  requestedBy: string;
}

/** Keeps the pushes until `routed`, in one statement; a redelivery of one already kept changes nothing. */
export async function keepPushesToRoute(db: pg.Pool, pushes: PushToRoute[]): Promise<void> {
  const column = <K extends keyof PushToRoute>(key: K) => pushes.map((p) => p[key]);
  await db.query(
    `insert into pushes_to_route (delivery_id, repo, installation_id, ref, commit_sha, default_branch, requested_by)
     select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
     on conflict (delivery_id) do nothing`,
    [
      column("deliveryId"),
      column("repo"),
      column("installationId").map(String),
      column("ref"),
      column("commitSha"),
      column("defaultBranch"),
      column("requestedBy"),
    ],
  );
}

export async function routed(db: pg.Pool, deliveryId: string): Promise<void> {
  await db.query(`delete from pushes_to_route where delivery_id = $1`, [deliveryId]);
}

/** Pushes kept longer than `olderThanSeconds` (their replica stopped before routing them), oldest first. */
export async function pushesLeftToRoute(db: pg.Pool, olderThanSeconds: number, limit = 100): Promise<PushToRoute[]> {
  const { rows } = await db.query(
    `select delivery_id, repo, installation_id, ref, commit_sha, default_branch, requested_by from pushes_to_route
      where received_at < now() - make_interval(secs => $1) order by received_at limit $2`,
    [olderThanSeconds, limit],
  );
  return rows.map((r) => ({
    deliveryId: r.delivery_id,
    repo: r.repo,
    installationId: int8(r.installation_id, "pushes_to_route.installation_id"),
    ref: r.ref,
    commitSha: r.commit_sha,
    defaultBranch: r.default_branch,
    requestedBy: r.requested_by,
  }));
}

/** Deletes the pushes kept longer than `olderThanHours` (never routable: the app lost the repository, say) and returns them. */
export async function dropPushesKeptLongerThan(db: pg.Pool, olderThanHours: number): Promise<Array<Pick<PushToRoute, "deliveryId" | "repo" | "ref">>> {
  const { rows } = await db.query(`delete from pushes_to_route where received_at < now() - make_interval(hours => $1) returning delivery_id, repo, ref`, [
    olderThanHours,
  ]);
  return rows.map((r) => ({ deliveryId: r.delivery_id, repo: r.repo, ref: r.ref }));
}
