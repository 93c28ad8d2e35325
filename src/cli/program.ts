// The `autopilot` command line. Each family of subcommands registers itself, so features add
// commands without touching each other's files.
import { Command } from "commander";
import { registerBackupCommands } from "./backup-commands.js";
import { registerBackupsCommands } from "./backups-commands.js";
import { registerMigrateCommands } from "./migrate-commands.js";
import { registerAuditCommands } from "./audit-commands.js";
import { registerInsightsCommands } from "./insights-commands.js";
import { registerAdoptCommands } from "./adopt-commands.js";
import { registerDriftCommands } from "./drift-commands.js";
import { registerRestoreCommands } from "./restore-commands.js";
import { registerRollbackCommands } from "./rollback-commands.js";
import { registerJobsCommands } from "./jobs-commands.js";

export function buildProgram(): Command {
  const program = new Command("autopilot").description("Zero-touch PostgreSQL operations: plan, migrate, back up, restore").showHelpAfterError();
  registerMigrateCommands(program);
  registerBackupCommands(program);
  registerRestoreCommands(program);
  registerRollbackCommands(program);
  registerBackupsCommands(program);
  registerAuditCommands(program);
  registerInsightsCommands(program);
  registerAdoptCommands(program);
  registerDriftCommands(program);
  registerJobsCommands(program);
  return program;
}
