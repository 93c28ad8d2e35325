// Every rule the engine runs, in the order findings on one position are listed.
import type { Rule } from "../statement.js";
import { addingFieldWithDefault } from "./column-defaults.js";
import { requireConcurrentDetachPartition, requireConcurrentReindex } from "./concurrently.js";
import { banDropColumn, banDropDatabase, banDropTable, banTruncateCascade, droppingNotNull, renamingColumn, renamingTable } from "./destructive.js";
import { identifierTooLong } from "./identifiers.js";
import {
  addingForeignKeyConstraint,
  addingNotNullableField,
  addingRequiredField,
  addingSerialPrimaryKeyField,
  changingColumnType,
  constraintMissingNotValid,
  disallowedUniqueConstraint,
  requireConcurrentIndexCreation,
  requireConcurrentIndexDeletion,
} from "./locks.js";
import { banConcurrentIndexCreationInTransaction, banUncommittedTransaction, preferRobustStmts, transactionNesting } from "./transactions.js";
import { banCharField, preferBigintOverInt, preferIdentity, preferTextField, preferTimestamptz } from "./types.js";
import { banAlterDomainWithAddConstraint, validateConstraintInSameTransaction } from "./validation.js";

export const RULES: ReadonlyArray<Rule> = [
  banDropDatabase,
  banDropTable,
  banDropColumn,
  banTruncateCascade,
  renamingTable,
  renamingColumn,
  addingRequiredField,
  addingNotNullableField,
  changingColumnType,
  requireConcurrentIndexCreation,
  requireConcurrentIndexDeletion,
  banConcurrentIndexCreationInTransaction,
  constraintMissingNotValid,
  addingForeignKeyConstraint,
  disallowedUniqueConstraint,
  addingSerialPrimaryKeyField,
  preferBigintOverInt,
  preferIdentity,
  preferTextField,
  preferTimestamptz,
  banCharField,
  transactionNesting,
  banUncommittedTransaction,
  identifierTooLong,
  preferRobustStmts,
  validateConstraintInSameTransaction,
  addingFieldWithDefault,
  requireConcurrentReindex,
  requireConcurrentDetachPartition,
  droppingNotNull,
  banAlterDomainWithAddConstraint,
];
