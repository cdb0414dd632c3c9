export {
  createIngest,
  type Ingest,
  type IngestDeps,
  AGGREGATOR_ROUTES,
  NOTIFIER_ROUTES,
  UPLOAD_ROUTES,
} from './app';
export { loadConfig, ingestEnv, type IngestConfig, type IngestEnv } from './config';
export * from './domain/errors';
export * from './domain/limits';
export * from './domain/ports';
export { checkCsv, CsvChecker, type CsvCheckResult } from './domain/csv/csv-checker';
export { EXPECTED_HEADER } from './domain/csv/header';
export type { ProductRow } from './domain/csv/row';
export {
  createUploadAcceptor,
  inputCsvKey,
  newWebhookSecret,
  ACCEPTED_MESSAGE,
  CATALOGUE_TOPICS,
  type IngestTopics,
  type UploadAcceptor,
  type ValidUpload,
} from './domain/accept-upload';
export { parseFormFields, type UploadOptions } from './domain/form-fields';
