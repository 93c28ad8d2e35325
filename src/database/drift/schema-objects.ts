// A database's schema as a set of named objects, read from the system catalogs (not from pg_dump's
// text, whose ordering and formatting vary). Each object carries the attributes that define it, so
// two snapshots compare key by key whatever order the objects were created in. Owners are left out:
// a scratch database is owned by the shadow server's role, never by the target's.
import type pg from "pg";

export type ObjectKind =
  | "schema"
  | "extension"
  | "enum"
  | "sequence"
  | "table"
  | "partitioned table"
  | "partition"
  | "column"
  | "constraint"
  | "index"
  | "view"
  | "materialized view"
  | "function"
  | "procedure"
  | "trigger"
  | "policy"
  | "grant";

export interface SchemaObject {
  kind: ObjectKind;
  /** Unique within a snapshot: kind and qualified name (and grantee, for a grant). */
  key: string;
  /** As people read it: `orders_created_at_idx`, `orders.status`, `SELECT on orders to reporting`. */
  name: string;
  /** What makes two objects of the same key the same; compared one by one. */
  attributes: Record<string, string>;
  /** The table (key) it belongs to, for columns, constraints, indexes, triggers, policies and grants. */
  parent?: string;
  /** SQL that makes it, as the migrations define it. */
  create: string;
  /** SQL that removes it. */
  drop: string;
}

export type SchemaSnapshot = Map<string, SchemaObject>;

/** Schemas that are PostgreSQL's or Autopilot's own (the history table lives in `autopilot`). */
const USER_SCHEMA = `n.nspname not in ('pg_catalog', 'information_schema', 'autopilot', 'pg_toast') and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'`;

/** An object an extension created comes and goes with the extension; only the extension is compared. */
const notFromExtension = (catalog: string, oid: string) =>
  `not exists (select 1 from pg_depend dep where dep.classid = '${catalog}'::regclass and dep.objid = ${oid} and dep.deptype = 'e')`;

/** `public.orders` reads as `orders`; other schemas keep their prefix. */
const DISPLAY = (schema: string, name: string) => `case when ${schema} = 'public' then quote_ident(${name}) else format('%I.%I', ${schema}, ${name}) end`;

type Reader = (client: pg.ClientBase) => Promise<SchemaObject[]>;

export async function readSchema(client: pg.ClientBase): Promise<SchemaSnapshot> {
  const readers: Reader[] = [schemas, extensions, enums, sequences, tables, columns, constraints, indexes, views, functions, triggers, policies, grants];
  const snapshot: SchemaSnapshot = new Map();
  for (const read of readers) for (const object of await read(client)) snapshot.set(object.key, object);
  return snapshot;
}

async function rows<T>(client: pg.ClientBase, sql: string): Promise<T[]> {
  return (await client.query(sql)).rows as T[];
}

const schemas: Reader = async (client) =>
  (
    await rows<{ name: string; q: string }>(
      client,
      `select n.nspname as name, quote_ident(n.nspname) as q from pg_namespace n where ${USER_SCHEMA} and ${notFromExtension("pg_namespace", "n.oid")}`,
    )
  ).map((r) => ({ kind: "schema", key: `schema:${r.q}`, name: r.name, attributes: {}, create: `CREATE SCHEMA ${r.q};`, drop: `DROP SCHEMA ${r.q};` }));

const extensions: Reader = async (client) =>
  (
    await rows<{ name: string; schema: string }>(
      client,
      `select quote_ident(e.extname) as name, quote_ident(n.nspname) as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname <> 'plpgsql'`,
    )
  ).map((r) => ({
    kind: "extension",
    key: `extension:${r.name}`,
    name: r.name,
    attributes: { schema: r.schema },
    create: `CREATE EXTENSION IF NOT EXISTS ${r.name} WITH SCHEMA ${r.schema};`,
    drop: `DROP EXTENSION ${r.name};`,
  }));

const enums: Reader = async (client) =>
  (
    await rows<{ q: string; display: string; labels: string[] }>(
      client,
      `select format('%I.%I', n.nspname, t.typname) as q, ${DISPLAY("n.nspname", "t.typname")} as display,
              array(select e.enumlabel::text from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder) as labels
         from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where t.typtype = 'e' and ${USER_SCHEMA} and ${notFromExtension("pg_type", "t.oid")}`,
    )
  ).map((r) => ({
    kind: "enum",
    key: `enum:${r.q}`,
    name: r.display,
    attributes: { values: r.labels.map(quoteLiteral).join(", ") },
    create: `CREATE TYPE ${r.q} AS ENUM (${r.labels.map(quoteLiteral).join(", ")});`,
    drop: `DROP TYPE ${r.q};`,
  }));

const sequences: Reader = async (client) =>
  (
    await rows<Record<string, string>>(
      client,
      `select format('%I.%I', n.nspname, c.relname) as q, ${DISPLAY("n.nspname", "c.relname")} as display, format_type(s.seqtypid, null) as type,
              s.seqstart::text as start, s.seqincrement::text as increment, s.seqmin::text as min, s.seqmax::text as max,
              s.seqcache::text as cache, case when s.seqcycle then 'CYCLE' else 'NO CYCLE' end as cycle
         from pg_sequence s join pg_class c on c.oid = s.seqrelid join pg_namespace n on n.oid = c.relnamespace
        where ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}
          -- an identity column's sequence is part of the column
          and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'i')`,
    )
  ).map((r) => ({
    kind: "sequence",
    key: `sequence:${r.q}`,
    name: r.display,
    attributes: { type: r.type, start: r.start, increment: r.increment, min: r.min, max: r.max, cache: r.cache, cycle: r.cycle },
    create: `CREATE SEQUENCE ${r.q} AS ${r.type} INCREMENT ${r.increment} MINVALUE ${r.min} MAXVALUE ${r.max} START ${r.start} CACHE ${r.cache} ${r.cycle};`,
    drop: `DROP SEQUENCE ${r.q};`,
  }));

interface TableRow {
  q: string;
  display: string;
  relkind: string;
  partkey: string | null;
  parent: string | null;
  bound: string | null;
  rls: boolean;
  force_rls: boolean;
  columns: string;
}

const tables: Reader = async (client) =>
  (
    await rows<TableRow>(
      client,
      `select format('%I.%I', n.nspname, c.relname) as q, ${DISPLAY("n.nspname", "c.relname")} as display, c.relkind::text,
              case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as partkey,
              (select format('%I.%I', pn.nspname, p.relname) from pg_inherits i join pg_class p on p.oid = i.inhparent
                 join pg_namespace pn on pn.oid = p.relnamespace where i.inhrelid = c.oid and c.relispartition) as parent,
              case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end as bound,
              c.relrowsecurity as rls, c.relforcerowsecurity as force_rls,
              coalesce((select string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
                                          || case when a.attnotnull then ' NOT NULL' else '' end
                                          || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' order by a.attnum)
                          from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '') as columns
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}`,
    )
  ).map(tableObject);

function tableObject(r: TableRow): SchemaObject {
  const kind: ObjectKind = r.parent ? "partition" : r.relkind === "p" ? "partitioned table" : "table";
  const attributes: Record<string, string> = { "row level security": r.rls ? (r.force_rls ? "enabled, forced" : "enabled") : "disabled" };
  if (r.partkey) attributes["partition key"] = r.partkey;
  if (r.parent) attributes["partition of"] = `${r.parent} ${r.bound}`;
  const body = r.parent ? `PARTITION OF ${r.parent} ${r.bound}` : `(${r.columns})${r.partkey ? ` PARTITION BY ${r.partkey}` : ""}`;
  const rls = r.rls ? `\nALTER TABLE ${r.q} ENABLE ROW LEVEL SECURITY;` : "";
  return { kind, key: `table:${r.q}`, name: r.display, attributes, create: `CREATE TABLE ${r.q} ${body};${rls}`, drop: `DROP TABLE ${r.q};` };
}

interface ColumnRow {
  table: string;
  display: string;
  column: string;
  type: string;
  notnull: boolean;
  default: string | null;
  identity: string;
  generated: string;
}

const columns: Reader = async (client) =>
  (
    await rows<ColumnRow>(
      client,
      `select format('%I.%I', n.nspname, c.relname) as table, ${DISPLAY("n.nspname", "c.relname")} || '.' || quote_ident(a.attname) as display,
              quote_ident(a.attname) as column, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull,
              pg_get_expr(d.adbin, d.adrelid) as default, a.attidentity::text as identity, a.attgenerated::text as generated
         from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
         left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p') and not c.relispartition
          and ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}`,
    )
  ).map(columnObject);

function columnObject(r: ColumnRow): SchemaObject {
  const identity = r.identity === "a" ? "GENERATED ALWAYS AS IDENTITY" : r.identity === "d" ? "GENERATED BY DEFAULT AS IDENTITY" : "";
  const generated = r.generated === "s" ? `GENERATED ALWAYS AS (${r.default}) STORED` : "";
  const attributes: Record<string, string> = { type: r.type, nullable: r.notnull ? "NOT NULL" : "NULL", default: generated ? "" : (r.default ?? "") };
  if (identity) attributes.identity = identity;
  if (generated) attributes.generated = generated;
  const definition = [r.type, generated || identity, r.notnull ? "NOT NULL" : "", !generated && r.default ? `DEFAULT ${r.default}` : ""]
    .filter(Boolean)
    .join(" ");
  return {
    kind: "column",
    key: `column:${r.table}.${r.column}`,
    name: r.display,
    attributes,
    parent: `table:${r.table}`,
    create: `ALTER TABLE ${r.table} ADD COLUMN ${r.column} ${definition};`,
    drop: `ALTER TABLE ${r.table} DROP COLUMN ${r.column};`,
  };
}

const constraints: Reader = async (client) =>
  (
    await rows<{ table: string; con: string; display: string; def: string }>(
      client,
      `select format('%I.%I', n.nspname, c.relname) as table, quote_ident(k.conname) as con, k.conname as display, pg_get_constraintdef(k.oid) as def
         from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        where k.contype in ('p', 'u', 'f', 'c', 'x') and k.conparentid = 0 and k.conislocal
          and ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}`,
    )
  ).map((r) => ({
    kind: "constraint",
    key: `constraint:${r.table}.${r.con}`,
    name: r.display,
    attributes: { definition: r.def },
    parent: `table:${r.table}`,
    create: `ALTER TABLE ${r.table} ADD CONSTRAINT ${r.con} ${r.def};`,
    drop: `ALTER TABLE ${r.table} DROP CONSTRAINT ${r.con};`,
  }));

const indexes: Reader = async (client) =>
  (
    await rows<{ q: string; display: string; table: string; def: string }>(
      client,
      `select format('%I.%I', n.nspname, ic.relname) as q, ${DISPLAY("n.nspname", "ic.relname")} as display,
              format('%I.%I', tn.nspname, tc.relname) as table, pg_get_indexdef(i.indexrelid) as def
         from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_namespace n on n.oid = ic.relnamespace
         join pg_class tc on tc.oid = i.indrelid join pg_namespace tn on tn.oid = tc.relnamespace
        where ${USER_SCHEMA} and ${notFromExtension("pg_class", "tc.oid")}
          -- a constraint's index is the constraint; a partition's copy of its parent's index comes with the parent's
          and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid and k.contype in ('p', 'u', 'x'))
          and not exists (select 1 from pg_inherits h where h.inhrelid = i.indexrelid)`,
    )
  ).map((r) => ({
    kind: "index",
    key: `index:${r.q}`,
    name: r.display,
    attributes: { definition: r.def },
    parent: `table:${r.table}`,
    create: `${r.def};`,
    drop: `DROP INDEX ${r.q};`,
  }));

const views: Reader = async (client) =>
  (
    await rows<{ q: string; display: string; relkind: string; def: string }>(
      client,
      `select format('%I.%I', n.nspname, c.relname) as q, ${DISPLAY("n.nspname", "c.relname")} as display, c.relkind::text, pg_get_viewdef(c.oid, true) as def
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('v', 'm') and ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}`,
    )
  ).map((r) => {
    const materialized = r.relkind === "m";
    const body = r.def.trim().replace(/;$/, "");
    return {
      kind: materialized ? "materialized view" : "view",
      key: `view:${r.q}`,
      name: r.display,
      attributes: { kind: materialized ? "materialized" : "plain", definition: body },
      create: materialized ? `CREATE MATERIALIZED VIEW ${r.q} AS\n${body};` : `CREATE OR REPLACE VIEW ${r.q} AS\n${body};`,
      drop: `DROP ${materialized ? "MATERIALIZED VIEW" : "VIEW"} ${r.q};`,
    };
  });

const functions: Reader = async (client) =>
  (
    await rows<{ q: string; display: string; prokind: string; def: string }>(
      client,
      `select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as q,
              ${DISPLAY("n.nspname", "p.proname")} || '(' || pg_get_function_identity_arguments(p.oid) || ')' as display,
              p.prokind::text, pg_get_functiondef(p.oid) as def
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.prokind in ('f', 'p') and ${USER_SCHEMA} and ${notFromExtension("pg_proc", "p.oid")}`,
    )
  ).map((r) => {
    const word = r.prokind === "p" ? "PROCEDURE" : "FUNCTION";
    return {
      kind: r.prokind === "p" ? "procedure" : "function",
      key: `function:${r.q}`,
      name: r.display,
      attributes: { definition: r.def.trim() },
      create: `${r.def.trim()};`,
      drop: `DROP ${word} ${r.q};`,
    };
  });

const triggers: Reader = async (client) =>
  (
    await rows<{ table: string; trigger: string; display: string; def: string; enabled: string }>(
      client,
      `select format('%I.%I', n.nspname, c.relname) as table, quote_ident(t.tgname) as trigger, t.tgname as display,
              pg_get_triggerdef(t.oid) as def, t.tgenabled::text as enabled
         from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
        where not t.tgisinternal and t.tgparentid = 0 and ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}`,
    )
  ).map((r) => ({
    kind: "trigger",
    key: `trigger:${r.table}.${r.trigger}`,
    name: r.display,
    attributes: { definition: r.def, enabled: r.enabled === "D" ? "disabled" : "enabled" },
    parent: `table:${r.table}`,
    create: `${r.def};`,
    drop: `DROP TRIGGER ${r.trigger} ON ${r.table};`,
  }));

const POLICY_COMMANDS: Record<string, string> = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" };

const policies: Reader = async (client) =>
  (
    await rows<{
      table: string;
      policy: string;
      display: string;
      cmd: string;
      permissive: boolean;
      roles: string[];
      qual: string | null;
      check: string | null;
    }>(
      client,
      `select format('%I.%I', n.nspname, c.relname) as table, quote_ident(p.polname) as policy, p.polname as display, p.polcmd::text as cmd,
              p.polpermissive as permissive, pg_get_expr(p.polqual, p.polrelid) as qual, pg_get_expr(p.polwithcheck, p.polrelid) as check,
              array(select case when r = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(r)) end from unnest(p.polroles) r order by 1)::text[] as roles
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
        where ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}`,
    )
  ).map((r) => {
    const attributes = {
      command: POLICY_COMMANDS[r.cmd] ?? r.cmd,
      mode: r.permissive ? "PERMISSIVE" : "RESTRICTIVE",
      roles: r.roles.join(", "),
      using: r.qual ?? "",
      "with check": r.check ?? "",
    };
    const clauses = `${r.qual ? ` USING (${r.qual})` : ""}${r.check ? ` WITH CHECK (${r.check})` : ""}`;
    return {
      kind: "policy",
      key: `policy:${r.table}.${r.policy}`,
      name: r.display,
      attributes,
      parent: `table:${r.table}`,
      create: `CREATE POLICY ${r.policy} ON ${r.table} AS ${attributes.mode} FOR ${attributes.command} TO ${attributes.roles}${clauses};`,
      drop: `DROP POLICY ${r.policy} ON ${r.table};`,
    };
  });

/**
 * Privileges granted to anyone but the owner (the owner differs between the target and a scratch
 * database). A NULL ACL means the defaults, made explicit with acldefault so the two compare.
 */
const grants: Reader = async (client) =>
  (
    await rows<{ on: string; q: string; display: string; parent: string | null; grantee: string; privileges: string }>(
      client,
      `with objects as (
         select case c.relkind when 'S' then 'SEQUENCE' else 'TABLE' end as on, format('%I.%I', n.nspname, c.relname) as q,
                ${DISPLAY("n.nspname", "c.relname")} as display, case when c.relkind in ('r', 'p') then format('%I.%I', n.nspname, c.relname) end as parent,
                coalesce(c.relacl, acldefault(case c.relkind when 'S' then 's'::"char" else 'r'::"char" end, c.relowner)) as acl, c.relowner as owner
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p', 'v', 'm', 'S') and ${USER_SCHEMA} and ${notFromExtension("pg_class", "c.oid")}
         union all
         select case p.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
                ${DISPLAY("n.nspname", "p.proname")} || '(' || pg_get_function_identity_arguments(p.oid) || ')', null,
                coalesce(p.proacl, acldefault('f', p.proowner)), p.proowner
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where p.prokind in ('f', 'p') and ${USER_SCHEMA} and ${notFromExtension("pg_proc", "p.oid")}
         union all
         select 'SCHEMA', quote_ident(n.nspname), n.nspname, null, coalesce(n.nspacl, acldefault('n', n.nspowner)), n.nspowner
           from pg_namespace n where ${USER_SCHEMA} and ${notFromExtension("pg_namespace", "n.oid")}
       )
       select o.on, o.q, o.display, o.parent,
              case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end as grantee,
              string_agg(a.privilege_type || case when a.is_grantable then ' (grantable)' else '' end, ', ' order by a.privilege_type) as privileges
         from objects o, lateral aclexplode(o.acl) a
        where a.grantee <> o.owner
        group by 1, 2, 3, 4, 5`,
    )
  ).map((r) => {
    const plain = r.privileges.replace(/ \(grantable\)/g, "");
    const grantable = r.privileges.includes("(grantable)") ? " WITH GRANT OPTION" : "";
    return {
      kind: "grant",
      key: `grant:${r.on} ${r.q} to ${r.grantee}`,
      name: `${r.on.toLowerCase()} ${r.display} to ${r.grantee}`,
      attributes: { privileges: r.privileges },
      ...(r.parent ? { parent: `table:${r.parent}` } : {}),
      create: `GRANT ${plain} ON ${r.on} ${r.q} TO ${r.grantee}${grantable};`,
      drop: `REVOKE ALL ON ${r.on} ${r.q} FROM ${r.grantee};`,
    };
  });

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
