#!/usr/bin/env node
'use strict';
// `npx imgpipe …`: runs the compiled CLI when it has been built (`tsc -b` → dist/), otherwise
// the TypeScript sources through tsx, so the command works straight after `npm ci`.
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist', 'main.js');
if (fs.existsSync(dist)) {
  require(dist);
} else {
  require('tsx/cjs/api').register();
  require('../src/main.ts');
}
