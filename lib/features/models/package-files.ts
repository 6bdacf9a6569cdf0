/**
 * Locates and reads model files shipped inside installed npm packages (nsfwjs, face-api). Paths
 * are resolved from this module with Node's resolver, so the weights come from node_modules and
 * never from the network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { InvalidModelError } from '../errors';
import type { ModelArtifacts, WeightSpec } from './artifacts';
import { totalWeightBytes, toArrayBuffer } from './artifacts';

const requireHere = createRequire(import.meta.url);

/** Root directory of an installed package. */
export function packageRoot(name: string): string {
  try {
    return dirname(requireHere.resolve(`${name}/package.json`));
  } catch {
    // Packages with an "exports" map that hides package.json: walk up from the main entry to
    // the package.json that carries the package's name (dist/ folders hold nameless ones).
    let dir = dirname(requireHere.resolve(name));
    for (;;) {
      const file = join(dir, 'package.json');
      if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === name) return dir;
      const parent = dirname(dir);
      if (parent === dir) throw new InvalidModelError(`cannot locate the installed package ${name}`);
      dir = parent;
    }
  }
}

export function packageVersion(name: string): string {
  const json = JSON.parse(readFileSync(join(packageRoot(name), 'package.json'), 'utf8')) as { version?: string };
  return json.version ?? 'unknown';
}

/** Directory of nsfwjs's bundled models (dist/models/<name>/). */
export function nsfwjsModelDirectory(name: string): string {
  return resolve(packageRoot('nsfwjs'), 'dist', 'models', name);
}

/** Directory of face-api's weight files. */
export function faceApiModelDirectory(): string {
  return join(packageRoot('@vladmandic/face-api'), 'model');
}

interface NsfwjsModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/**
 * Loads one of nsfwjs's models. nsfwjs ships each model as CommonJS bundles (model.min.js
 * exporting model.json's object, one group1-shardNofM.min.js per shard exporting its bytes as
 * base64) so browsers can bundle them; Node can require them directly. The required modules
 * are dropped from the require cache afterwards so the base64 text does not stay in memory.
 */
export function readNsfwjsArtifacts(name: string): ModelArtifacts {
  const dir = nsfwjsModelDirectory(name);
  const loaded: string[] = [];
  const load = (file: string): unknown => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new InvalidModelError(`nsfwjs model file missing: ${path} (reinstall nsfwjs)`);
    loaded.push(requireHere.resolve(path));
    return requireHere(path);
  };
  try {
    const json = load('model.min.js') as NsfwjsModelJson;
    const specs: WeightSpec[] = [];
    const shards: Buffer[] = [];
    for (const group of json.weightsManifest) {
      for (const shard of group.paths) {
        const base64 = load(`${shard}.min.js`);
        if (typeof base64 !== 'string') throw new InvalidModelError(`nsfwjs shard ${name}/${shard} is not base64 text`);
        shards.push(Buffer.from(base64, 'base64'));
      }
      specs.push(...group.weights);
    }
    const data = Buffer.concat(shards);
    const expected = totalWeightBytes(specs);
    if (data.length !== expected) {
      throw new InvalidModelError(`nsfwjs model ${name}: weight shards hold ${data.length} bytes, the manifest describes ${expected}`);
    }
    return {
      modelTopology: structuredClone(json.modelTopology) as ModelArtifacts['modelTopology'],
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy ?? undefined,
      weightSpecs: specs,
      weightData: toArrayBuffer(data),
    };
  } finally {
    for (const id of loaded) delete requireHere.cache[id];
  }
}

/** Reads a tfjs weights manifest and its .bin files from a directory (face-api's format). */
export function readWeightsManifest(dir: string, manifestFile: string): { specs: WeightSpec[]; data: Uint8Array } {
  const path = join(dir, manifestFile);
  if (!existsSync(path)) throw new InvalidModelError(`weights manifest missing: ${path}`);
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { paths: string[]; weights: WeightSpec[] }[];
  const specs = manifest.flatMap((group) => group.weights);
  const data = Buffer.concat(manifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dir, p)))));
  const expected = totalWeightBytes(specs);
  if (data.length !== expected) {
    throw new InvalidModelError(`${path}: weight files hold ${data.length} bytes, the manifest describes ${expected}`);
  }
  return { specs, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
