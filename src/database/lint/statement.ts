// What a rule sees: one parsed statement, with the questions rules keep asking answered once
// (which ALTER TABLE commands, which column definitions, was the table created in this file).
import type { AlterTableCmd, AlterTableType, ColumnDef, Node, TypeName } from "libpg-query";
import { as, displayName, tableOf, type NodeOf, type NodeType, type TableName } from "./ast.js";
import type { KnownSchema } from "./known-schema.js";
import { jsonText } from "./parse-tree.js";

/** A finding as a rule reports it; the engine adds the position, severity, texts and ignores. */
export interface Hit {
  message: string;
  table?: string;
  lock?: string;
  rewrites?: boolean;
  /** Where the offending token is, when it is more precise than the statement's start: a parser location (bytes)… */
  byteOffset?: number;
  /** …or a string index. */
  index?: number;
}

export interface Rule {
  id: string;
  /** The statement types `check` looks at ("any": all), so the engine skips the rest unseen. */
  on?: ReadonlyArray<NodeType> | "any";
  /** Looks at one statement; most rules. */
  check?: (statement: Statement) => readonly Hit[];
  /** Looks at the whole file once every statement is known (e.g. a BEGIN never committed). */
  checkFile?: (statements: Statement[], file: FileFacts) => Array<Hit & { statement: Statement }>;
}

export interface FileFacts {
  text: string;
  noTransaction: boolean;
  /** Tables created by earlier statements of this file: nothing uses them yet, so locks cost nothing. */
  createdTables: Map<string, Set<string | undefined>>;
  /** Indexes created by earlier statements, with their table: dropping one locks that table. */
  createdIndexes: Map<string, TableName>;
  /** Tables and columns the run's earlier statements defined, as far as the rule's statement. */
  schema: KnownSchema;
  /** Tables this file emptied (TRUNCATE, DELETE without WHERE) and put no row in since. */
  emptiedTables: Set<string>;
  /** A `SET timezone` of this file made the session UTC, so timestamp ↔ timestamptz needs no rewrite. */
  sessionInUtc: boolean;
}

export interface AlterCommand {
  command: AlterTableCmd;
  table: TableName;
}

export interface ColumnUse {
  table: TableName;
  column: string;
  type: TypeName | undefined;
  definition: ColumnDef;
  /** Byte offset of the column definition, when the parser gave one. */
  byteOffset?: number;
}

export class Statement {
  private tree?: Node;

  constructor(
    readonly type: NodeType,
    /** The parse tree as the parser's JSON text in UTF-8 (parse-tree.ts), read on first use. */
    private readonly treeJson: Uint8Array,
    /** String index of the statement's first token, and one past its end. */
    readonly start: number,
    readonly end: number,
    readonly file: FileFacts,
    /** Inside an explicit BEGIN … COMMIT of this file. */
    readonly inTransactionBlock: boolean,
  ) {}

  /** The parse tree: most statements' trees are never looked at, so each is read from its JSON when first asked for. */
  get node(): Node {
    return (this.tree ??= JSON.parse(jsonText(this.treeJson)) as Node);
  }

  as<K extends NodeType>(type: K): NodeOf<K> | undefined {
    return this.type === type ? as(this.node, type) : undefined;
  }

  /** The commands of an ALTER TABLE on a table that existed before this file (new tables are exempt). */
  alterCommands(...subtypes: AlterTableType[]): AlterCommand[] {
    this.commandsOfExistingTable ??= this.listAlterCommands();
    return this.commandsOfExistingTable.filter(({ command }) => command.subtype !== undefined && subtypes.includes(command.subtype));
  }

  /** Every column this statement defines or retypes, new tables included: type rules apply to all. */
  columns(): ColumnUse[] {
    this.columnUses ??= this.listColumns();
    return this.columnUses;
  }

  // Several rules ask the same question of one statement; answered once.
  private commandsOfExistingTable?: AlterCommand[];
  private columnUses?: ColumnUse[];

  private listAlterCommands(): AlterCommand[] {
    const alter = this.as("AlterTableStmt");
    if (!alter || (alter.objtype && alter.objtype !== "OBJECT_TABLE")) return [];
    const table = tableOf(alter.relation);
    if (this.createdInFile(table)) return [];
    return (alter.cmds ?? []).flatMap((c) => as(c, "AlterTableCmd") ?? []).map((command) => ({ command, table }));
  }

  private listColumns(): ColumnUse[] {
    const create = this.as("CreateStmt");
    if (create) {
      const table = tableOf(create.relation);
      return (create.tableElts ?? []).flatMap((e) => as(e, "ColumnDef") ?? []).map((def) => columnUse(table, def));
    }
    const alter = this.as("AlterTableStmt");
    if (!alter) return [];
    const table = tableOf(alter.relation);
    return (alter.cmds ?? []).flatMap((c) => {
      const command = as(c, "AlterTableCmd");
      const def = as(command?.def, "ColumnDef");
      if (!command || !def) return [];
      if (command.subtype === "AT_AddColumn") return [columnUse(table, def)];
      if (command.subtype === "AT_AlterColumnType") return [columnUse(table, { ...def, colname: command.name })];
      return [];
    });
  }

  createdInFile(table: TableName): boolean {
    const schemas = this.file.createdTables.get(table.name);
    if (!schemas) return false;
    // `create table t` then `alter table public.t`: unqualified matches any schema, qualified ones must agree.
    return table.schema === undefined || schemas.has(undefined) || schemas.has(table.schema);
  }
}

function columnUse(table: TableName, def: ColumnDef): ColumnUse {
  return { table, column: def.colname ?? "?", type: def.typeName, definition: def, byteOffset: def.location };
}

export function columnName(use: { table: TableName; column: string }): string {
  return `${displayName(use.table)}.${use.column}`;
}

/** Most checks find nothing: one shared empty answer instead of an array per call. */
const NO_HITS: readonly Hit[] = Object.freeze([]);

/** Rules are small functions; this keeps their declarations to one line of intent. */
export function rule(id: string, on: ReadonlyArray<NodeType> | "any", check: (statement: Statement) => Hit[] | Hit | undefined): Rule {
  return {
    id,
    on,
    check: (statement) => {
      const result = check(statement);
      return result === undefined ? NO_HITS : Array.isArray(result) ? result : [result];
    },
  };
}
