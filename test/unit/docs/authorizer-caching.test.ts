/**
 * The deployment guide's account of what the token authorizer caches must match the code: the
 * guide once said the authorizer "does not cache", while every execution environment keeps the
 * tokens it has verified (VerifiedTokenCache). What is cached, and what is read on every
 * request, decides how fast a revocation takes effect, so an operator must be told exactly.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES } from '../../../lib/service/accounts/verified-token-cache';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('docs/deployment.md on authorizer caching', () => {
  it('says that verified tokens are cached per execution environment, and that the user registry is read on every request', async () => {
    expect(DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES).toBeGreaterThan(0);
    const guide = (await readFile(join(ROOT, 'docs', 'deployment.md'), 'utf8')).replace(/\s+/g, ' ');
    expect(guide).not.toMatch(/authorizer does not cache/i);
    expect(guide).toMatch(/each execution environment keeps the tokens whose signature and claims it has verified/);
    expect(guide).toMatch(/reads the user's status and latest revocation time from the table on every request/);
    expect(guide).toMatch(/Re-activating the user .* admits only tokens issued after the revocation/);
    // And the gateway's own cache is off unless configured, as the guide says.
    expect(guide).toMatch(/with the default `authorizerCacheSeconds=0` the user's next request is refused/);
    const stack = await readFile(join(ROOT, 'cdk', 'cs1-stack.ts'), 'utf8');
    expect(stack).toMatch(/resultsCacheTtl: Duration\.seconds\(config\.authorizerCacheSeconds\)/);
    const config = await readFile(join(ROOT, 'cdk', 'config.ts'), 'utf8');
    expect(config).toMatch(/integer\(node, 'authorizerCacheSeconds', 0,/);
  });
});
