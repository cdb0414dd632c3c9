// Real engines: group joins and Cassandra schema changes take seconds, not milliseconds.
// (testTimeout is a global-only Jest option, so the integration project sets it here.)
jest.setTimeout(120_000);
