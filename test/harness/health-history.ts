// A health history in the store, written in SQL: every `stepMinutes` over `days` days per repository,
// latency with a daily swing and a step up two days ago (as after a migration), a failure now and then,
// and a two-hour maintenance window three days ago. For the dashboard's browser test and its benchmark.
type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

export async function seedHealthHistory(query: Query, repos: string[], opts: { days: number; stepMinutes: number; check?: string }): Promise<void> {
  await query(
    `insert into health_log (repo, check_name, kind, status, http_status, latency_ms, at)
     select lower(r.repo), $2, 'http',
            case when t between now() - interval '3 days' and now() - interval '3 days' + interval '2 hours' then 'maintenance'
                 when (extract(epoch from t)::bigint / 60) % 997 = 0 then 'unhealthy' else 'healthy' end,
            200,
            (80 + 40 * sin(extract(epoch from t) / 13751) + case when t > now() - interval '2 days' then 60 else 0 end + random() * 30)::int,
            t
       from unnest($1::text[]) as r(repo),
            generate_series(now() - make_interval(days => $3), now(), make_interval(mins => $4)) as t`,
    [repos, opts.check ?? "site", opts.days, opts.stepMinutes],
  );
  await query(
    `insert into health_state (repo, check_name, status, healthy_streak) select lower(r), $2, 'healthy', 5 from unnest($1::text[]) as r
       on conflict (repo, check_name) do nothing`,
    [repos, opts.check ?? "site"],
  );
  await query(
    `insert into deployments (repo, environment, hook, ok, created_at) select r, 'production', 'deploy_hook', true, now() - interval '2 days' from unnest($1::text[]) as r`,
    [repos],
  );
}
