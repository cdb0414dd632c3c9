import os from 'node:os';
import path from 'node:path';

/** Hand-off from global setup to teardown (they may run in different module registries). */
export const stateFile = path.join(os.tmpdir(), `imgpipe-jest-engines-${process.pid}.json`);
