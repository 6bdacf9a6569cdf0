/**
 * Seeded synthetic embeddings as in the paper's evaluation (vectors in (-1, 1), 512-d), for
 * tests and benchmarks only (seededRandom: reproducible, not secret).
 * - 'uniform': every coordinate uniform in (-1, 1).
 * - 'clustered': a mixture of Gaussians around random centres (identities with several
 *   captures each look like this), clipped to (-1, 1).
 * Coordinates are clipped to [-0.999, 0.999] so quantized templates satisfy |x| <= 999.
 */
import { InvalidParametersError } from '../../../lib/core/errors';
import type { RandomSource } from '../../../lib/core/random';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { DEFAULT_DECIMALS, quantizeVectors } from '../../../lib/twoserver/quantize';

export type SyntheticKind = 'uniform' | 'clustered';

export const SYNTHETIC_KINDS: readonly SyntheticKind[] = ['uniform', 'clustered'];

export interface SyntheticOptions {
  readonly kind: SyntheticKind;
  readonly seed: number;
  /** Mixture components for 'clustered' (default max(2, round(sqrt(n)))). */
  readonly clusters?: number;
  /** Standard deviation of each coordinate around its centre for 'clustered' (default 0.15). */
  readonly spread?: number;
}

const LIMIT = 0.999;

function clip(v: number): number {
  return v > LIMIT ? LIMIT : v < -LIMIT ? -LIMIT : v;
}

function check(n: number, d: number): void {
  if (!Number.isInteger(n) || n < 1) throw new InvalidParametersError(`synthetic data: n = ${n} must be a positive integer`);
  if (!Number.isInteger(d) || d < 1) throw new InvalidParametersError(`synthetic data: d = ${d} must be a positive integer`);
}

/**
 * Draws the vectors of one synthetic set in order, in chunks of any size: the sequence does not
 * depend on the chunking, so a million vectors can be streamed through an index builder.
 */
export class SyntheticStream {
  private readonly random: RandomSource;
  private readonly centres: Float64Array | null;
  private readonly clusters: number;
  private readonly spread: number;

  /** `n` only sets the default number of clusters (round(sqrt(n))). */
  constructor(
    n: number,
    readonly d: number,
    readonly options: SyntheticOptions,
  ) {
    check(n, d);
    if (!SYNTHETIC_KINDS.includes(options.kind)) throw new InvalidParametersError(`synthetic data: unknown kind "${String(options.kind)}"`);
    this.random = seededRandom(options.seed);
    this.clusters = options.clusters ?? Math.max(2, Math.round(Math.sqrt(n)));
    this.spread = options.spread ?? 0.15;
    if (options.kind === 'clustered') {
      this.centres = new Float64Array(this.clusters * d);
      for (let i = 0; i < this.centres.length; i++) this.centres[i] = this.random.next() * 1.6 - 0.8;
    } else {
      this.centres = null;
    }
  }

  /** The next `count` real vectors in (-1, 1)^d. */
  next(count: number): VectorSet {
    const { d, random } = this;
    const data = new Float64Array(count * d);
    if (this.centres === null) {
      for (let i = 0; i < data.length; i++) data[i] = clip(random.next() * 2 - 1);
    } else {
      for (let i = 0; i < count; i++) {
        const c = random.int(this.clusters);
        for (let j = 0; j < d; j++) data[i * d + j] = clip(this.centres[c * d + j] + this.spread * random.gaussian());
      }
    }
    return { n: count, d, data };
  }
}

/** n real vectors in (-1, 1)^d. */
export function syntheticEmbeddings(n: number, d: number, options: SyntheticOptions): VectorSet {
  return new SyntheticStream(n, d, options).next(n);
}

/** Quantized (integer) synthetic templates. */
export function syntheticTemplates(n: number, d: number, options: SyntheticOptions, decimals = DEFAULT_DECIMALS): VectorSet {
  return quantizeVectors(syntheticEmbeddings(n, d, options), decimals);
}

/**
 * Integer probe vectors: each is a random template plus Gaussian noise of `noise` (in real
 * units, before quantization), clipped to the same box; like a new capture of an enrolled face.
 */
export function noisyProbes(templates: VectorSet, count: number, noise: number, random: RandomSource, decimals = DEFAULT_DECIMALS): VectorSet {
  const scale = 10 ** decimals;
  const limit = Math.round(LIMIT * scale);
  const { d } = templates;
  const data = new Float64Array(count * d);
  for (let q = 0; q < count; q++) {
    const t = random.int(templates.n);
    for (let j = 0; j < d; j++) {
      const v = Math.round(templates.data[t * d + j] + noise * scale * random.gaussian());
      data[q * d + j] = Math.max(-limit, Math.min(limit, v));
    }
  }
  return { n: count, d, data };
}
