#!/usr/bin/env node
'use strict';
// `npx imgpipe …`: runs the compiled CLI when it has been built (`tsc -b` → dist/), otherwise
// the TypeScript sources through tsx, so the command works straight after `npm ci`.
// A dist/ older than a source file is not used: in a checkout where someone edited src/ and
// did not rebuild, running yesterday's build (in tests too) would be a silent lie.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist', 'main.js');
const src = path.join(root, 'src');

// Every source file under src/ (tests aside) is older than its compiled .js under dist/, or
// than tsc -b's last build of the project (tsconfig.tsbuildinfo): tsc -b re-emits only files
// whose content changed, so a touched but unchanged file keeps its older .js.
const builtAt = mtimeMs(path.join(root, 'tsconfig.tsbuildinfo'));

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function distIsCurrent(dir = src) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!distIsCurrent(full)) return false;
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      const built = path.join(root, 'dist', path.relative(src, full)).replace(/\.ts$/, '.js');
      if (!fs.existsSync(built)) return false;
      if (fs.statSync(full).mtimeMs > Math.max(builtAt, mtimeMs(built))) return false;
    }
  }
  return true;
}

// An installed package may ship dist/ without src/: then dist is all there is.
const useDist = fs.existsSync(dist) && (!fs.existsSync(src) || distIsCurrent());

if (useDist) {
  require(dist);
} else {
  require('tsx/cjs/api').register();
  require('../src/main.ts');
}
