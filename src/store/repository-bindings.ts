// Which repository id each target serves. A name is not an identity: a repository renamed, or
// deleted and re-created under the old name, gets a new id and must not inherit the database.
import type pg from "pg";
import { int8 } from "./int8.js";

/** Records `repositoryId` for the target unless one is recorded already; returns the recorded id. */
export async function recordedRepositoryId(db: pg.Pool, repo: string, environment: string, repositoryId: number): Promise<number> {
  const key = [repo.toLowerCase(), environment];
  await db.query("insert into repository_bindings (repo, environment, repository_id) values ($1, $2, $3) on conflict do nothing", [...key, repositoryId]);
  const { rows } = await db.query<{ id: string }>("select repository_id::text as id from repository_bindings where repo = $1 and environment = $2", key);
  return int8(rows[0].id, "repository_bindings.repository_id");
}

/** The operator bound the target to `repositoryId` (server config `repo_id`): that is the record from now on. */
export async function recordOperatorBinding(db: pg.Pool, repo: string, environment: string, repositoryId: number): Promise<void> {
  await db.query(
    `insert into repository_bindings (repo, environment, repository_id) values ($1, $2, $3)
     on conflict (repo, environment) do update set repository_id = excluded.repository_id, recorded_at = now()
     where repository_bindings.repository_id <> excluded.repository_id`,
    [repo.toLowerCase(), environment, repositoryId],
  );
}
