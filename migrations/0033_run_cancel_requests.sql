-- `/autopilot cancel`: who asked to cancel a running migration. Its apply loop reads this before
-- each next file and stops there (never mid-file); a queued or waiting run is cancelled at once.
alter table runs add column cancel_requested_by text;
