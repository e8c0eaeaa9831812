export { compileJobType } from './src/compile.ts';
export {
  COLUMN_TYPES,
  type ColumnDeclaration,
  type ColumnType,
  JobTypeDeclaration,
  type JobTypeDeclarationInput,
  WEBHOOK_EVENTS,
  WebhookDeclaration,
  type WebhookEventName,
} from './src/declaration.ts';
export { JobTypeError, type JobTypeErrorCode } from './src/errors.ts';
export {
  checkEnqueuedRequest,
  checkInputRecord,
  loadCatalogue,
  requestIdFromText,
} from './src/input-record.ts';
export type {
  AnswerCheck,
  Catalogue,
  CatalogueEntry,
  InputRecord,
  JobType,
  RequestContext,
  RequestId,
  RowValue,
  TargetColumn,
  TargetTable,
} from './src/job-type.ts';
export { PromptTokenCounter } from './src/prompt-tokens.ts';
export {
  builtInJobTypes,
  DEFAULT_JOB_TYPE,
  type JobTypeSet,
  loadJobTypes,
  readJobTypeFile,
} from './src/registry.ts';
export { type ExistingTable, targetTableDdl, targetTableProblems } from './src/target-table.ts';
