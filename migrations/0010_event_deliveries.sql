-- POST /autopilot/events: the delivery ids received, so a replayed event is refused. An id only has
-- to be remembered while its signed timestamp is still accepted (5 minutes); older rows are pruned.
create table event_deliveries (
  repo text not null,
  delivery_id text not null,
  received_at timestamptz not null default now(),
  primary key (repo, delivery_id)
);
create index event_deliveries_received_at on event_deliveries (received_at);
