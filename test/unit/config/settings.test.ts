/**
 * The configuration reader and its table: every kind parsed and bounded the same way, the docs
 * page equal to the table, no setting named outside it, and no other module of lib/ or
 * functions/ reading process.env.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvironmentConfig } from '../../../lib/config/environment';
import { SETTINGS } from '../../../lib/config/settings';
import type { SettingKey } from '../../../lib/config/settings';
import type { SettingSpec } from '../../../lib/config/types';
import { ConfigurationError, InvalidParametersError } from '../../../lib/core/errors';
import { INLINE_BATCH_MAX_BYTES } from '../../../lib/twoserver/transport/decrypt-event';
import { CONFIGURATION_DOC, renderSettingsTable, withSettingsTable } from '../../../scripts/docs/configuration';

const ROOT = join(__dirname, '..', '..', '..');
const specs = Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>;
const read = (env: Record<string, string>) => new EnvironmentConfig(env);

function sourceFiles(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'cdk.out' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path, pattern));
    else if (pattern.test(entry)) out.push(path);
  }
  return out;
}

describe('the settings table', () => {
  it('names each variable once, with defaults inside their bounds', () => {
    const names = specs.flatMap(([, spec]) => [spec.name, ...(spec.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const [key, spec] of specs) {
      expect(spec.name, key).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(spec.purpose.length, key).toBeGreaterThan(10);
      if (spec.kind === 'integer' || spec.kind === 'number') {
        expect(spec.min, key).toBeLessThanOrEqual(spec.default);
        expect(spec.default, key).toBeLessThanOrEqual(spec.max);
        if (spec.kind === 'integer') expect(Number.isInteger(spec.default) && Number.isInteger(spec.min) && Number.isInteger(spec.max), key).toBe(true);
      }
      if (spec.kind === 'choice' && spec.default !== undefined) expect(Object.keys(spec.choices), key).toContain(spec.default);
      if (spec.kind === 'list') for (const item of spec.default) expect(item, key).toMatch(spec.item.pattern);
    }
  });

  it('bounds the inline batch by the protocol limit', () => {
    expect(SETTINGS.cs2InlineMaxBytes.max).toBe(INLINE_BATCH_MAX_BYTES);
    expect(SETTINGS.cs2InlineMaxBytes.default).toBe(INLINE_BATCH_MAX_BYTES);
  });

  it('is what docs/configuration.md lists (run `npm run docs:configuration` after a change)', () => {
    const page = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(withSettingsTable(page, renderSettingsTable())).toBe(page);
  });

  it('holds every setting the code, the stacks, the scripts and the docs name', () => {
    const known = new Set(specs.flatMap(([, spec]) => [spec.name, ...(spec.aliases ?? [])]));
    const files = ['lib', 'functions', 'cdk', 'scripts', 'docs', 'test'].flatMap((dir) => sourceFiles(join(ROOT, dir), /\.(ts|mjs|md)$/));
    files.push(join(ROOT, 'README.md'));
    const unknown: string[] = [];
    for (const file of files) {
      for (const [name] of readFileSync(file, 'utf8').matchAll(/\b(BLINDSIGHT_[A-Z0-9_]+|FASHION_MNIST_DIR)\b/g)) {
        if (!known.has(name)) unknown.push(`${relative(ROOT, file)}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('is read from process.env by one module of lib/ and functions/ only', () => {
    const readers = ['lib', 'functions']
      .flatMap((dir) => sourceFiles(join(ROOT, dir), /\.ts$/))
      .filter((file) => /process\.env\b/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(readers).toEqual([join('lib', 'config', 'environment.ts')]);
  });
});

describe('EnvironmentConfig', () => {
  it('gives the default when a variable is unset or blank, and trims values', () => {
    expect(read({}).get('pointerTtlMs')).toBe(1000);
    expect(read({ BLINDSIGHT_POINTER_TTL_MS: '   ' }).get('pointerTtlMs')).toBe(1000);
    expect(read({ BLINDSIGHT_POINTER_TTL_MS: ' 250 ' }).get('pointerTtlMs')).toBe(250);
    expect(read({}).get('cs2Url')).toBeUndefined();
    expect(read({ BLINDSIGHT_CS2_URL: ' http://127.0.0.1:1 ' }).get('cs2Url')).toBe('http://127.0.0.1:1');
  });

  it('checks integers and numbers against their bounds and names the variable', () => {
    for (const bad of ['-1', '1.5', 'soon', '600000', '1e400']) {
      expect(() => read({ BLINDSIGHT_POINTER_TTL_MS: bad }).get('pointerTtlMs')).toThrow(ConfigurationError);
      expect(() => read({ BLINDSIGHT_POINTER_TTL_MS: bad }).get('pointerTtlMs')).toThrow(/^BLINDSIGHT_POINTER_TTL_MS must be an integer from 0 to 60000 \(ms\)/);
    }
    expect(read({ BLINDSIGHT_INDEX_CACHE_MB: '0.5' }).get('indexCacheMb')).toBe(0.5);
    expect(() => read({ BLINDSIGHT_INDEX_CACHE_MB: '-1' }).get('indexCacheMb')).toThrow(/BLINDSIGHT_INDEX_CACHE_MB must be a number from 0 to 10240/);
    expect(() => read({ BLINDSIGHT_INDEX_CACHE_MB: 'NaN' }).get('indexCacheMb')).toThrow(ConfigurationError);
  });

  it('reads flags as true/1 and false/0 in any case, and nothing else', () => {
    expect(read({}).get('s3ForcePathStyle')).toBe(false);
    for (const yes of ['true', 'TRUE', '1']) expect(read({ BLINDSIGHT_S3_FORCE_PATH_STYLE: yes }).get('s3ForcePathStyle')).toBe(true);
    for (const no of ['false', 'False', '0']) expect(read({ BLINDSIGHT_S3_FORCE_PATH_STYLE: no }).get('s3ForcePathStyle')).toBe(false);
    expect(() => read({ BLINDSIGHT_S3_FORCE_PATH_STYLE: 'yes' }).get('s3ForcePathStyle')).toThrow(/BLINDSIGHT_S3_FORCE_PATH_STYLE must be "true" or "false"/);
  });

  it('matches choices without regard to case and lists them when a value is wrong or missing', () => {
    expect(read({ BLINDSIGHT_LOG_LEVEL: 'silent' }).get('logLevel')).toBe('SILENT');
    expect(read({}).get('logLevel')).toBe('INFO');
    expect(read({ BLINDSIGHT_CS2_MODE: 'HTTP' }).get('cs2Mode')).toBe('http');
    expect(() => read({ BLINDSIGHT_CS2_MODE: 'smtp' }).get('cs2Mode')).toThrow(/BLINDSIGHT_CS2_MODE is "smtp": set BLINDSIGHT_CS2_MODE to "http" \(local cloud\) or "lambda" \(AWS\)/);
    expect(() => read({}).require('cs2Mode')).toThrow(/^set BLINDSIGHT_CS2_MODE to "http" \(local cloud\) or "lambda" \(AWS\)$/);
  });

  it('splits lists, checks each entry and keeps the default when unset', () => {
    expect(read({}).get('cs2FetchHosts')).toEqual(['.amazonaws.com', '.amazonaws.com.cn']);
    expect(read({ BLINDSIGHT_CS2_FETCH_HOSTS: ' .LocalStack.cloud, s3.example.org ,' }).get('cs2FetchHosts')).toEqual(['.localstack.cloud', 's3.example.org']);
    expect(() => read({ BLINDSIGHT_CS2_FETCH_HOSTS: 'a/b' }).get('cs2FetchHosts')).toThrow(/BLINDSIGHT_CS2_FETCH_HOSTS entry "a\/b" is not a host name/);
  });

  it('reads an alias when the variable itself is unset', () => {
    expect(read({ BLINDSIGHT_SECRET_DIR: '/keys' }).get('cs2KeyDir')).toBe('/keys');
    expect(read({ BLINDSIGHT_SECRET_DIR: '/old', BLINDSIGHT_CS2_KEY_DIR: '/new' }).get('cs2KeyDir')).toBe('/new');
    expect(read({ BLINDSIGHT_SECRET_PREFIX: 'p/' }).get('cs2SecretPrefix')).toBe('p/');
  });

  it('require names a missing variable and its purpose', () => {
    expect(() => read({}).require('table')).toThrow(
      'environment variable BLINDSIGHT_TABLE is not set (the DynamoDB table that holds owners, users and index versions): set it before starting the service',
    );
    expect(read({ BLINDSIGHT_TABLE: 't' }).require('table')).toBe('t');
  });

  it('throws the error the caller chooses', () => {
    const config = new EnvironmentConfig({ BLINDSIGHT_TF_BACKEND: 'gpu' }, { misconfigured: (message) => new InvalidParametersError(message) });
    expect(() => config.get('tfBackend')).toThrow(InvalidParametersError);
  });
});
