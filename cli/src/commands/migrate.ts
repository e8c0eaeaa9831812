import { DbError, ensureTargetTables, migrate } from '@batchline/db';
import { commandContext, withDatabase } from '../context.ts';
import { CommandError } from '../errors.ts';
import type { Command } from './command.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  usage: 'batchline migrate',
  summary: 'creates or upgrades the database schema and the job types’ target tables; safe to run again',
  details: [
    'After the schema, each job type in force (docs/job-types.md) gets its target table when it has none; an',
    'existing one is checked, never altered: a missing column, a wrong type or a missing unique key stops',
    'the command with the job type, the table and each problem.',
  ],
  options: {},
  async run() {
    const context = commandContext(true);
    await withDatabase(context, async (pool) => {
      try {
        const { applied } = await migrate(pool, context.log);
        console.log(applied.length === 0 ? 'schema is up to date' : `applied ${applied.join(', ')}`);
        for (const table of await ensureTargetTables(pool, context.jobTypes.all())) {
          if (table.created) console.log(`created table ${table.table} for job type ${table.jobType}`);
        }
      } catch (error) {
        if (error instanceof DbError) throw new CommandError(error.message);
        throw error;
      }
    });
  },
};
