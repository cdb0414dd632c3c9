export * from './topics';
export * from './cql';
