// The target's PostgreSQL major version, so the plan lints with the grammar the target really runs.
import pg from "pg";

export async function serverMajor(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "autopilot-plan", connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined); // a dropped connection surfaces as the query's error
  try {
    await client.connect();
    const { rows } = await client.query<{ major: number }>("select current_setting('server_version_num')::int / 10000 as major");
    return rows[0].major;
  } finally {
    await client.end().catch(() => undefined);
  }
}
