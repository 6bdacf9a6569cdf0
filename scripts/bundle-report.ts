/**
 * What each Lambda function of a `cdk synth` output bundles: its handler module (from the role
 * CDK made for it, "Runs <handler>"), the size of its bundle (index.mjs, and gzip -9 as an
 * estimate of the deployed zip) and the project modules in it (from the bundle's source map).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface FunctionBundle {
  readonly stack: string;
  readonly handler: string;
  /** Bytes of index.mjs. */
  readonly bytes: number;
  /** Bytes of index.mjs compressed by gzip -9 (0 when not asked for). */
  readonly gzipBytes: number;
  /** Project files in the bundle (repository-relative, e.g. lib/he/bfv/seal.ts). */
  readonly projectFiles: readonly string[];
  /** npm packages in the bundle. */
  readonly packages: readonly string[];
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** The repository root: project files are named relative to it. */
const PROJECT_ROOT = resolve(import.meta.dirname, '..');

/** The module that adapts node-seal: a bundle that holds it holds node-seal's WebAssembly build. */
export const SEAL_ADAPTER = 'lib/he/bfv/seal.ts';

function packageOf(source: string): string | undefined {
  const at = source.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const [scope, name] = source.slice(at + 'node_modules/'.length).split('/');
  // node-seal's own source map names its sources src/...; they sit in node-seal's bundle.
  if (scope === 'src') return 'node-seal';
  return scope.startsWith('@') ? `${scope}/${name}` : scope;
}

/** Every function bundle of every stack in a cdk.out directory (gzip sizes unless `gzip` is false). */
export async function readFunctionBundles(outdir: string, options: { gzip?: boolean } = {}): Promise<FunctionBundle[]> {
  const templates = (await readdir(outdir)).filter((file) => file.endsWith('.template.json')).sort();
  const bundles: FunctionBundle[] = [];
  for (const file of templates) {
    const stack = file.replace(/\.template\.json$/, '');
    const { Resources: resources } = JSON.parse(await readFile(join(outdir, file), 'utf8')) as { Resources: Record<string, TemplateResource> };
    for (const resource of Object.values(resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      const roleRef = (resource.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
      const roleDescription = roleRef === undefined ? undefined : (resources[roleRef]?.Properties?.Description as string | undefined);
      if (typeof assetPath !== 'string' || roleDescription === undefined || !roleDescription.startsWith('Runs ')) continue;
      const bundle = join(outdir, assetPath, 'index.mjs');
      const code = await readFile(bundle);
      const map = JSON.parse(await readFile(`${bundle}.map`, 'utf8')) as { sources: string[] };
      const projectFiles = new Set<string>();
      const packages = new Set<string>();
      for (const source of map.sources) {
        const path = resolve(dirname(bundle), source);
        const pkg = packageOf(path);
        if (pkg !== undefined) packages.add(pkg);
        else projectFiles.add(relative(PROJECT_ROOT, path));
      }
      bundles.push({
        stack,
        handler: roleDescription.slice('Runs '.length),
        bytes: (await stat(bundle)).size,
        gzipBytes: options.gzip === false ? 0 : gzipSync(code, { level: 9 }).length,
        projectFiles: [...projectFiles].sort(),
        packages: [...packages].sort(),
      });
    }
  }
  return bundles.sort((a, b) => a.stack.localeCompare(b.stack) || a.handler.localeCompare(b.handler));
}
