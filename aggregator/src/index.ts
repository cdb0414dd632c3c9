export { catalogueTopics, createAggregator, defaultTopics } from './app';
export type { Aggregator, AggregatorDeps, AggregatorTopics } from './app';
export { aggregatorEnv, loadConfig } from './config';
export type { AggregatorConfig, AggregatorEnv } from './config';
export { createMaterializer } from './domain/materializer';
export type { Materializer, RequestEvent, SweepReport } from './domain/materializer';
export { buildOutputCsv, neutraliseCell, OUTPUT_CSV_HEADER } from './domain/output-csv';
export { outputCsvKeyFor, outputCsvUrlFor, imageUrlFor } from './domain/urls';
export { createCassandraStore, OPEN_BUCKETS } from './adapters/cassandra-store';
