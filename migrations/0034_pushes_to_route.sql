-- Pushes answered before their repository's config was at hand (none cached and trusted): each row is
-- routed behind the answer by the replica that took it (a migrate run, or nothing for a branch no
-- environment maps) and then deleted; a row that outlives its replica is routed by any replica's sweep
-- (jobs/push-router.ts). Routing twice is harmless: a run is recorded once per delivery.
create table pushes_to_route (
  delivery_id text primary key,
  repo text not null,
  installation_id bigint not null,
  ref text not null,
  commit_sha text not null,
  default_branch text not null,
  requested_by text not null,
  received_at timestamptz not null default now()
);
create index pushes_to_route_received on pushes_to_route (received_at);
