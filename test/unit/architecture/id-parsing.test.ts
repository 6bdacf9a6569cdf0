/**
 * Ids are parsed once, where they enter (lib/core/ids.ts), and the layers below take the branded
 * types instead of checking again. This test keeps it so: no `assert...Id(` / `assert...Name(`
 * call is left anywhere in lib/, functions/ or scripts/, and the parsers of the five branded ids
 * are called only in the modules listed below, each a place where outside data enters.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SCANNED = ['lib', 'functions', 'scripts'];

const ID_ASSERTION = /\bassert[A-Za-z]*(?:Id|Name)\(/g;
const BRANDED_PARSER = /\b(?:parse(?:OwnerId|UserId|IndexName|VersionId|ImageId)|isOwnerId)\b/g;

/** Where ids enter, and so may be parsed (path relative to the repository, '/' separated). */
const PARSING_MODULES: Readonly<Record<string, string>> = {
  'lib/core/ids.ts': 'the parsers themselves',
  'lib/api/path-parameters.ts': 'path parameters of every route',
  'lib/auth/tokens.ts': 'the claims of a verified token',
  'lib/auth/owner-id.ts': 'the owner id derived from a public key',
  'functions/lib/caller.ts': "the authorizer's context handed to each handler",
  'functions/cs1/index-version-publish.ts': 'expectedCurrent in the request body',
  'lib/service/images/images.ts': 'image ids in upload and download request bodies',
  'lib/service/images/image-removals.ts': 'image ids, index names and versions in the removal request body; image ids in listed removal records',
  'lib/service/sealed/sealed-leaves.ts': 'the version in the request body',
  'lib/service/sei/sei-updates.ts': 'the image id in the add-image request body',
  'lib/service/sei/sei-index-validator.ts': 'image ids in the leaves an owner uploads',
  'lib/service/two-server/two-server-index-validator.ts': 'inherited-shard versions in the index an owner uploads',
  'lib/service/versions/publish-jobs.ts': "the publish worker's invocation event",
  'lib/service/versions/version-names.ts': 'a freshly generated version name',
  'lib/service/versions/cleanup.ts': 'index and version names read from the bucket listing',
  'lib/service/sei/sei-locations.ts': 'versions in the stored block table',
  'lib/service/sei/sei-metadata.ts': 'versions and image ids in stored SEI metadata',
  'lib/service/sealed/sealed-metadata.ts': 'versions in stored sealed metadata',
  'lib/service/two-server/metadata.ts': 'versions in stored two-server metadata',
  'lib/storage/dynamo-index-catalog.ts': 'ids in DynamoDB version items, pointers and table keys',
  'lib/storage/dynamo-publish-jobs.ts': 'versions in DynamoDB publish-job items and keys',
  'lib/twoserver/transport/worker-event.ts': "the shard worker's invocation event",
  'lib/client/answer-ids.ts': "ids in CS1's answers, where they enter the client",
  'lib/client/formats.ts': 'ids in a grant file',
  'lib/client/node/owner-home.ts': "ids in the owner's configuration, index manifest and publish record",
  'lib/client/image-ids.ts': 'image ids the owner derives from file names',
  'lib/client/owner-index.ts': "index names derived from the owner's (<name>-<kind>, <name>-identify) and the default name",
  'lib/client/sealed.ts': 'image ids in the sealed leaves CS1 hands over',
  'scripts/cli/program.ts': 'index names and user ids given as CLI arguments',
  'scripts/bench/api.ts': "the benchmark's index and user",
  'scripts/bench/sealed.ts': "the benchmark's sealing binding",
  'scripts/bench/sei.ts': "the benchmark's sealing binding",
  'scripts/cli/owner/users.ts': 'user ids given as CLI arguments',
  'scripts/demo/demo.ts': "the demo's fixed user id",
};

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? Promise.resolve([]) : sourceFiles(path);
      return Promise.resolve(/\.(ts|mts)$/.test(entry.name) ? [path] : []);
    }),
  );
  return nested.flat();
}

/** Source without comments, so a comment that names a function is not a call. */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

async function scannedSources(): Promise<Array<{ path: string; text: string }>> {
  const files = (await Promise.all(SCANNED.map((dir) => sourceFiles(join(ROOT, dir))))).flat();
  return Promise.all(files.map(async (file) => ({ path: relative(ROOT, file).split(sep).join('/'), text: code(await readFile(file, 'utf8')) })));
}

describe('id checks', () => {
  it('finds assertions and parser calls, not the words in comments', () => {
    const text = code(['// assertOwnerId(x) is gone', '/* parseImageId(y) */', 'assertIndexName(name);', 'const id = parseOwnerId(raw);'].join('\n'));
    expect(text.match(ID_ASSERTION)).toEqual(['assertIndexName(']);
    expect(text.match(BRANDED_PARSER)).toEqual(['parseOwnerId']);
  });

  it('leaves no assert...Id( or assert...Name( call in lib/, functions/ or scripts/', async () => {
    const found = (await scannedSources()).flatMap(({ path, text }) => (text.match(ID_ASSERTION) ?? []).map((call) => `${path}: ${call}`));
    expect(found).toEqual([]);
  });

  it('parses the branded ids only where they enter', async () => {
    const sources = await scannedSources();
    const parsing = sources.filter(({ text }) => text.match(BRANDED_PARSER) !== null).map(({ path }) => path);
    expect(parsing.filter((path) => !(path in PARSING_MODULES))).toEqual([]);
    // An entry whose module no longer parses is stale: the list stays the list of entry points.
    expect(Object.keys(PARSING_MODULES).filter((path) => !parsing.includes(path))).toEqual([]);
  });
});
