#!/usr/bin/env node
// The `blindsight` executable (package.json "bin"): runs the TypeScript CLI through tsx, which
// `npm ci` installs with the project. Equivalent to `npx tsx scripts/cli/main.ts`.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
