#!/usr/bin/env node
'use strict';
// `npx imgpipe …`: in a checkout, the TypeScript sources run through tsx, so the command works
// straight after `npm ci` and always runs the code as it is (never a stale build). A package
// that ships only the compiled dist/ (no src/) runs that.
const fs = require('node:fs');
const path = require('node:path');

if (fs.existsSync(path.join(__dirname, '..', 'src', 'main.ts'))) {
  require('tsx/cjs/api').register();
  require('../src/main.ts');
} else {
  require('../dist/main.js');
}
