export { adminDatabaseUrl, createTestDatabase, type TestDatabase } from './src/database.ts';
export { setDatabaseRefusing } from './src/database-refusal.ts';
export {
  type EntityRow,
  entitiesJobTypes,
  parseCsv,
  type SeededJob,
  seedEntitiesJob,
} from './src/entities-job.ts';
export { freePort } from './src/free-port.ts';
export { type SeededHistory, seedHistory } from './src/history.ts';
export {
  embeddingsDeclaration,
  entitiesDeclaration,
  sentimentDeclaration,
} from './src/job-type-declarations.ts';
export { type MigratedTestDatabase, migratedTestDatabase } from './src/migrated-database.ts';
export { testNamespace, testNatsUrl } from './src/namespace.ts';
export { publishedOpsEvents } from './src/published-ops-events.ts';
export {
  sampleBatchFinalizedEvent,
  sampleJobFinalizedEvent,
  sampleStatusChangedEvent,
} from './src/sample-events.ts';
export {
  type PipelineEnv,
  pipelineEnv,
  type RunningPipeline,
  startPipeline,
} from './src/service-processes.ts';
export { silentLogger } from './src/silent-logger.ts';
export {
  type ReceivedSlackMessage,
  type SlackReceiver,
  type SlackReply,
  startSlackReceiver,
} from './src/slack-receiver.ts';
export { waitFor } from './src/wait-for.ts';
export {
  type ReceivedWebhook,
  startWebhookReceiver,
  verifyWebhookSignature,
  type WebhookReceiver,
} from './src/webhook-receiver.ts';
