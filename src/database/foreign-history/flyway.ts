// Flyway's flyway_schema_history: one row per run script. `success = false` is a failed migration
// (Flyway refuses to continue until `flyway repair`); a BASELINE row stands for every earlier version;
// rows without a version are repeatable scripts, which Autopilot has no equivalent for.
import { crc32 } from "node:zlib";
import type { ForeignHistoryReader } from "./reader.js";
import { findTable } from "./reader.js";

export const flyway: ForeignHistoryReader = {
  async read(client) {
    const table = await findTable(client, "flyway_schema_history");
    if (!table) return undefined;
    const { rows } = await client.query(
      `select version, script, type, checksum, installed_on, execution_time, success from ${table} where version is not null and type <> 'DELETE' order by installed_rank`,
    );
    return {
      tool: "flyway",
      toolName: "Flyway",
      table,
      entries: rows.map((r) => ({
        version: r.version,
        label: r.type === "BASELINE" ? `baseline ${r.version}` : r.script,
        state: r.success ? "applied" : "failed",
        appliedAt: r.installed_on,
        durationMs: r.execution_time,
        coversEarlier: r.type === "BASELINE" ? "baseline" : undefined,
        checksum: r.checksum === null ? undefined : { value: String(r.checksum), of: flywayChecksum },
      })),
    };
  },
};

/**
 * Flyway's checksum of a script (ChecksumCalculator / LoadableResource.calculateChecksum): CRC-32 of
 * the UTF-8 bytes of its lines as Java's BufferedReader.readLine gives them (without `\n`, `\r\n`
 * or `\r`), a leading BOM dropped, stored as a signed 32-bit integer. Line endings do not change it.
 */
export function flywayChecksum(content: string | Buffer): string {
  const text = content.toString().replace(/^\uFEFF/, "");
  return String(crc32(Buffer.from(text.split(/\r\n|\r|\n/).join(""), "utf8")) | 0);
}
