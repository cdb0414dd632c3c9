export * from './errors';
export * from './config';
export * from './logger';
export * from './s3';
export * from './cassandra';
export * from './migrations';
export * from './kafka/client';
export * from './kafka/admin';
