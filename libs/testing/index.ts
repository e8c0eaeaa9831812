export { adminDatabaseUrl, createTestDatabase, type TestDatabase } from './src/database.ts';
export { testNamespace, testNatsUrl } from './src/namespace.ts';
