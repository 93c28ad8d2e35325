// The Check Runs' names: part of the contract (branch protection rules name them), and what the
// webhook handlers match a re-requested Check Run against, so they live apart from the renderers.
export const MIGRATE_CHECK_NAME = "autopilot/migrate";
export const PLAN_CHECK_NAME = "autopilot/plan";
export const ROLLBACK_CHECK_NAME = "autopilot/rollback";
