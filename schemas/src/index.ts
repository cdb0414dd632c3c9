export * from './topics';
export * from './cql';
export * from './events';
