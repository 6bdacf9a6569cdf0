/**
 * lib/ is what the Lambda functions and the web page bundle, so it may import only packages
 * listed under `dependencies` (or optionalDependencies) in package.json. Dev-only code (local
 * emulators, synthetic data, benchmark baselines) lives in scripts/ or test/ instead; a lib/
 * import of a devDependency would work in tests and fail in a deployed function.
 *
 * The AWS SDK is reached only through the adapters (lib/storage: S3, DynamoDB, Secrets Manager;
 * lib/invoke: Lambda), so the services and protocols stay testable with any store or transport
 * and a function that never calls AWS does not bundle the SDK.
 */
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The only lib/ folders whose files may import @aws-sdk/* packages. */
const SDK_ADAPTER_FOLDERS = ['lib/storage/', 'lib/invoke/'];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return Promise.resolve(/\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : []);
    }),
  );
  return nested.flat();
}

/** Module specifiers of static imports, re-exports, and dynamic imports, as TypeScript reads them. */
function importedSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, false).importedFiles.map((file) => file.fileName);
}

/** The package a bare specifier names ('@scope/name/sub' -> '@scope/name'); null for relative or node: paths. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? null : name;
}

describe('lib/ imports', () => {
  it('finds the package of each kind of import', () => {
    const source = [
      "import type { A } from '@aws-sdk/client-s3';",
      "import dynalite from 'dynalite';",
      "export { b } from './b';",
      "const c = await import('sharp/lib/x');",
      "import 'node:fs';",
      "import { join } from 'path';",
      "const text = `from 'a string'`; // import 'a comment'",
    ].join('\n');
    expect(importedSpecifiers(source).map(packageOf)).toEqual(['@aws-sdk/client-s3', 'dynalite', null, 'sharp', null, null]);
  });

  it('name only packages in dependencies, never a devDependency', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})]);
    const offending: string[] = [];
    for (const file of await sourceFiles(join(ROOT, 'lib'))) {
      for (const specifier of importedSpecifiers(await readFile(file, 'utf8'))) {
        const name = packageOf(specifier);
        if (name !== null && !allowed.has(name)) offending.push(`${relative(ROOT, file)}: ${specifier}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('import the AWS SDK only in the adapter folders', async () => {
    const offending: string[] = [];
    let adapterImports = 0;
    for (const file of await sourceFiles(join(ROOT, 'lib'))) {
      const path = relative(ROOT, file).split(sep).join('/');
      const sdkImports = importedSpecifiers(await readFile(file, 'utf8')).filter((specifier) => packageOf(specifier)?.startsWith('@aws-sdk/'));
      if (SDK_ADAPTER_FOLDERS.some((folder) => path.startsWith(folder))) adapterImports += sdkImports.length;
      else offending.push(...sdkImports.map((specifier) => `${path}: ${specifier}`));
    }
    expect(offending).toEqual([]);
    // The walk saw the adapters' own SDK imports, so an empty list above is not a walk that found nothing.
    expect(adapterImports).toBeGreaterThan(0);
  });
});
