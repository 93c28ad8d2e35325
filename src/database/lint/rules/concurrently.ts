// Maintenance statements that have a CONCURRENTLY form which does not block the table.
import { as, displayName, tableOf } from "../ast.js";
import { rule } from "../statement.js";

export const requireConcurrentReindex = rule("require-concurrent-reindex", ["ReindexStmt"], (statement) => {
  const reindex = statement.as("ReindexStmt");
  if (!reindex || reindex.kind === "REINDEX_OBJECT_SYSTEM") return undefined;
  if (reindex.params?.some((p) => as(p, "DefElem")?.defname === "concurrently")) return undefined;
  const relation = tableOf(reindex.relation);
  if (reindex.kind === "REINDEX_OBJECT_INDEX") {
    const table = statement.file.createdIndexes.get(relation.name);
    if (table && statement.createdInFile(table)) return undefined;
    return { message: `reindexes index ${displayName(relation)} without CONCURRENTLY`, table: table && displayName(table), lock: "SHARE" };
  }
  if (reindex.kind === "REINDEX_OBJECT_TABLE") {
    if (statement.createdInFile(relation)) return undefined;
    return { message: `reindexes table ${displayName(relation)} without CONCURRENTLY`, table: displayName(relation), lock: "SHARE" };
  }
  const scope = reindex.kind === "REINDEX_OBJECT_SCHEMA" ? `schema ${reindex.name}` : `database ${reindex.name ?? ""}`.trim();
  return { message: `reindexes every table of ${scope} without CONCURRENTLY`, lock: "SHARE" };
});

export const requireConcurrentDetachPartition = rule("require-concurrent-detach-partition", ["AlterTableStmt"], (statement) =>
  statement.alterCommands("AT_DetachPartition").flatMap(({ command, table }) => {
    const partition = as(command.def, "PartitionCmd");
    if (partition?.concurrent) return [];
    return [
      {
        message: `detaches partition ${displayName(tableOf(partition?.name))} from ${displayName(table)} without CONCURRENTLY`,
        table: displayName(table),
        lock: "ACCESS EXCLUSIVE",
      },
    ];
  }),
);
