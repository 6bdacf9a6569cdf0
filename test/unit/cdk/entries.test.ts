/**
 * The stacks bundle one entry file per handler module of the route table (plus the authorizer
 * and CS2's decrypt function) from functions/: `cdk synth` fails if one is missing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FUNCTIONS_DIR } from '../../../cdk/blindsight-function';
import { cs1HandlerModules } from '../../../cdk/cs1-stack';
import { CS2_DECRYPT_HANDLER } from '../../../cdk/names';

describe('handler entry files', () => {
  it.each([...cs1HandlerModules().keys(), CS2_DECRYPT_HANDLER])('functions/%s.ts exists and exports handler', async (handler) => {
    const source = await readFile(join(DEFAULT_FUNCTIONS_DIR, `${handler}.ts`), 'utf8');
    expect(source).toMatch(/export\s+(const|async\s+function|function)\s+handler\b|export\s*\{[^}]*\bhandler\b[^}]*\}/);
  });
});
