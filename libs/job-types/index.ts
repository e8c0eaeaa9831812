export {
  COLUMN_TYPES,
  type ColumnDeclaration,
  type ColumnType,
  JobTypeDeclaration,
  type JobTypeDeclarationInput,
} from './src/declaration.ts';
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
