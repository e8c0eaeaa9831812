import pg from 'pg';
import { adminDatabaseUrl } from './database.ts';

/**
 * The database fault operators meet when Postgres is down for a service: with `refusing`, the database at `url`
 * takes no new connection and every open one is cut (its backends terminated); without, it takes them again.
 */
export async function setDatabaseRefusing(url: string, refusing: boolean): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS ${refusing ? 'false' : 'true'}`);
    if (refusing) {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [name]);
    }
  } finally {
    await admin.end();
  }
}
