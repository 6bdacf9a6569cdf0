/**
 * On-disk cache of extracted features (extracting all 70,000 Fashion-MNIST images takes tens of
 * minutes). Stores the pooled float32 activations before L2 normalisation, so a cache hit gives
 * bit for bit what a fresh extraction on the same backend gives.
 *
 * Format "BSFC" v1, little-endian: magic, u16 version, string model, u32 inputSize, u32 n,
 * u32 d, string backend, string weightsVersion, string pipelineVersion, 32-byte SHA-256 of the
 * source images and labels, then n*d float32. Readers reject any mismatch with
 * MalformedDataError.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BinaryReader, BinaryWriter } from '../codec/binary';
import { MalformedDataError } from '../core/errors';

const MAGIC = 'BSFC';
const VERSION = 1;
const DIGEST_BYTES = 32;

export interface FeatureCacheKey {
  /** Model id, e.g. 'mobilenet_v2_mid'. */
  readonly model: string;
  readonly inputSize: number;
  /** Package and version the weights come from (e.g. 'nsfwjs@4.4.0'): new weights invalidate the cache. */
  readonly weightsVersion: string;
  /** Version of the preprocessing (resize, normalisation) code: changing it invalidates the cache. */
  readonly pipelineVersion: string;
}

export interface CachedFeatures {
  readonly key: FeatureCacheKey;
  readonly n: number;
  readonly d: number;
  /** Backend that produced the activations (informational: other backends differ only in rounding). */
  readonly backend: string;
  /** SHA-256 of the source images and labels the activations were computed from. */
  readonly digest: Uint8Array;
  /** n * d pooled activations, before normalisation. */
  readonly activations: Float32Array;
}

/** SHA-256 over the first n images' pixels and labels: identifies the exact source data. */
export function datasetDigest(pixels: Uint8Array, labels: Uint8Array, n: number, pixelsPerImage: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(pixels.subarray(0, n * pixelsPerImage)).update(labels.subarray(0, n)).digest());
}

export function encodeFeatureCache(entry: CachedFeatures): Uint8Array {
  const header = new BinaryWriter(256)
    .header(MAGIC, VERSION)
    .string(entry.key.model)
    .u32(entry.key.inputSize)
    .u32(entry.n)
    .u32(entry.d)
    .string(entry.backend)
    .string(entry.key.weightsVersion)
    .string(entry.key.pipelineVersion)
    .bytes(entry.digest)
    .finish();
  const out = new Uint8Array(header.length + entry.activations.length * 4);
  out.set(header);
  const view = new DataView(out.buffer, header.length);
  for (let i = 0; i < entry.activations.length; i++) view.setFloat32(i * 4, entry.activations[i], true);
  return out;
}

export function decodeFeatureCache(bytes: Uint8Array, what = 'feature cache'): CachedFeatures {
  const reader = new BinaryReader(bytes, what);
  reader.header(MAGIC, [VERSION]);
  const model = reader.string('model');
  const inputSize = reader.u32InRange('inputSize', 1, 4096);
  const n = reader.u32InRange('n', 1, 0xffffffff);
  const d = reader.u32InRange('d', 1, 1 << 20);
  const backend = reader.string('backend');
  const weightsVersion = reader.string('weightsVersion');
  const pipelineVersion = reader.string('pipelineVersion');
  const digest = reader.bytes(DIGEST_BYTES, 'digest');
  if (reader.remaining !== n * d * 4) reader.fail(`holds ${reader.remaining} bytes of activations, expected ${n} x ${d} float32`);
  const raw = reader.bytes(n * d * 4, 'activations');
  reader.end();
  const activations = new Float32Array(raw.buffer, raw.byteOffset, n * d);
  for (let i = 0; i < activations.length; i++) {
    if (!Number.isFinite(activations[i])) reader.fail(`activation ${i} is not a finite number`);
  }
  return { key: { model, inputSize, weightsVersion, pipelineVersion }, n, d, backend, digest, activations };
}

function safeName(model: string): string {
  return model.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
}

/** File name of a cache entry: `<model>-<size>-<n>.bin`. */
export function featureCacheFileName(key: FeatureCacheKey, n: number): string {
  return `${safeName(key.model)}-${key.inputSize}-${n}.bin`;
}

/**
 * Cache files for this model and size holding at least n images, smallest first: a cache of the
 * first 70,000 images also serves a request for the first 4,000.
 */
export function findFeatureCacheFiles(dir: string, key: FeatureCacheKey, n: number): string[] {
  if (!existsSync(dir)) return [];
  const prefix = `${safeName(key.model)}-${key.inputSize}-`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.bin'))
    .map((f) => ({ f, count: Number(f.slice(prefix.length, -4)) }))
    .filter(({ count }) => Number.isInteger(count) && count >= n)
    .sort((a, b) => a.count - b.count)
    .map(({ f }) => join(dir, f));
}

export function readFeatureCacheFile(path: string): CachedFeatures {
  return decodeFeatureCache(new Uint8Array(readFileSync(path)), path);
}

/** Writes atomically (temporary file, then rename) so an interrupted run never leaves a half file. */
export function writeFeatureCacheFile(dir: string, entry: CachedFeatures): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, featureCacheFileName(entry.key, entry.n));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, encodeFeatureCache(entry));
  renameSync(tmp, path);
  return path;
}

/** Whether a cached entry was made by the same model, size, weights and preprocessing. */
export function sameCacheKey(a: FeatureCacheKey, b: FeatureCacheKey): boolean {
  return a.model === b.model && a.inputSize === b.inputSize && a.weightsVersion === b.weightsVersion && a.pipelineVersion === b.pipelineVersion;
}

export function assertDigest(entry: CachedFeatures, expected: Uint8Array, path: string): void {
  if (entry.digest.length !== expected.length || entry.digest.some((b, i) => b !== expected[i])) {
    throw new MalformedDataError(path, 'was computed from different images (dataset digest differs)');
  }
}
