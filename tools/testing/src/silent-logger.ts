import { createLogger } from '@batchline/logging';

/** A logger that writes nothing, for code under test that wants one. */
export const silentLogger = createLogger({ service: 'test', level: 'silent' });
