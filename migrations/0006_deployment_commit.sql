-- Deployments reported from outside (POST /autopilot/events) carry the commit they deployed.
alter table deployments add column commit_sha text;
