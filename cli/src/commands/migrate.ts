import { migrate } from '@batchline/db';
import { commandContext, withDatabase } from '../context.ts';
import type { Command } from './command.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  usage: 'batchline migrate',
  summary: 'creates or upgrades the database schema; safe to run again',
  options: {},
  async run() {
    const context = commandContext(true);
    const { applied } = await withDatabase(context, (pool) => migrate(pool, context.log));
    console.log(applied.length === 0 ? 'schema is up to date' : `applied ${applied.join(', ')}`);
  },
};
