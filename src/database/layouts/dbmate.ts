// dbmate's layout: one file `<version>_<name>.sql` holding both directions, after `-- migrate:up`
// and `-- migrate:down`. `-- migrate:up transaction:false` runs the file outside a transaction,
// like `-- autopilot:no-transaction`. The halves keep their line numbers, so errors point at the file's lines.
import { topLevelSql, type MigrationLayout } from "./types.js";

const NAME = /^(\d+)_([^/\\]+?)\.sql$/;
const MARKER = /^\s*--\s*migrate:(up|down)\b(.*)$/;

type Sections = ReturnType<NonNullable<MigrationLayout["sections"]>>;

export const dbmateLayout: MigrationLayout = {
  name: "dbmate",
  perFolder: false,
  hasDownFiles: true,
  naming: "dbmate migrations are named <version>_<name>.sql, e.g. 20240101120000_create_users.sql",
  considers: topLevelSql,
  parse(relative) {
    const match = NAME.exec(relative);
    if (!match || match[2].startsWith(".")) return null;
    return { version: match[1], name: match[2], role: "up", key: match[1] };
  },
  sections: splitSections,
};

/** Whether a file is written for dbmate: Autopilot's own layout refuses such a file rather than run its down half. */
export function hasDbmateMarkers(sql: string): boolean {
  // Most files never mention it: the CLI asks this of every file of a directory to detect the layout.
  return sql.includes("migrate:") && sql.split(/\r?\n/).some((line) => MARKER.test(line));
}

function splitSections(sql: string): Sections {
  const lines = sql.split(/\r?\n/);
  const problems: Sections["problems"] = [];
  const markers = lines.flatMap((text, index) => {
    const match = MARKER.exec(text);
    return match ? [{ index, direction: match[1], options: match[2].trim() }] : [];
  });
  const up = markers.filter((m) => m.direction === "up");
  const down = markers.filter((m) => m.direction === "down");
  if (up.length !== 1)
    problems.push({ line: up[1]?.index + 1 || 1, message: up.length ? "-- migrate:up appears twice" : "a dbmate migration needs a -- migrate:up line" });
  if (down.length > 1) problems.push({ line: down[1].index + 1, message: "-- migrate:down appears twice" });
  const upAt = up[0]?.index ?? 0;
  const downAt = down[0]?.index ?? lines.length;
  if (downAt < upAt) problems.push({ line: downAt + 1, message: "-- migrate:down comes before -- migrate:up" });
  const stray = lines.findIndex((text, index) => index < upAt && !/^\s*(--.*)?$/.test(text));
  if (stray >= 0) problems.push({ line: stray + 1, message: "statements before -- migrate:up belong to neither direction" });
  return {
    up: lines.map((text, index) => (index < downAt ? text : "")).join("\n"),
    down: down.length ? lines.map((text, index) => (index > downAt ? text : "")).join("\n") : undefined,
    noTransaction: transactionOff(up[0]?.options ?? "", upAt + 1, problems),
    problems,
  };
}

function transactionOff(options: string, line: number, problems: Sections["problems"]): boolean {
  let off = false;
  for (const option of options.split(/\s+/).filter(Boolean)) {
    if (option === "transaction:false") off = true;
    else if (option !== "transaction:true") problems.push({ line, message: `unknown dbmate option "${option}" (known: transaction:false)` });
  }
  return off;
}
