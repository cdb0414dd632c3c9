import path from 'node:path';

/**
 * Folder of the versioned CQL migrations (`NNNN_name.cql`), applied in order by
 * platform's migration runner. The Cassandra data model is a contract between the
 * aggregator and the notifier, so it lives beside the event contracts.
 */
export const cqlMigrationsDir: string = path.resolve(__dirname, '..', 'cql');
