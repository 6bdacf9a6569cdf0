/**
 * The benchmarks' data sets: a gallery and held-out queries, either seeded synthetic clusters
 * (synthetic/vectors.ts), Fashion-MNIST pixels, or the evaluation's CNN features of the same
 * images; the real ones are projected by PCA fitted on the gallery (seeded).
 */
import { seededRandom } from '../../lib/core/random';
import { clusteredVectors } from './synthetic/vectors';
import { loadFashionMnist, pixelVectors } from '../../lib/data/fashion-mnist';
import { createFeatureExtractor } from '../../lib/features/extractor';
import { fashionMnistFeatures } from '../../lib/features/fashion-mnist-features';
import { selectRows, type VectorSet } from '../../lib/linalg/vectors';
import { fitPca, transformPca } from '../../lib/ml/pca';

export const DATASET_NAMES = ['clustered', 'fashion-mnist', 'fashion-cnn'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface Dataset {
  readonly gallery: VectorSet;
  readonly queries: VectorSet;
}

function range(start: number, count: number): Uint32Array {
  return Uint32Array.from({ length: count }, (_, i) => start + i);
}

export function syntheticDataset(n: number, d: number, queries: number, seed: number): Dataset {
  const { vectors } = clusteredVectors({ n: n + queries, d, seed });
  return { gallery: selectRows(vectors, range(0, n)), queries: selectRows(vectors, range(n, queries)) };
}

/** The first n vectors as gallery, the last `queries` of the set as queries; PCA to d fitted on the gallery. */
function heldOutSplit(all: VectorSet, n: number, d: number, queries: number): Dataset {
  if (n + queries > all.n) throw new Error(`the data set has ${all.n} vectors; n + queries = ${n + queries}`);
  const gallery = selectRows(all, range(0, n));
  const held = selectRows(all, range(all.n - queries, queries));
  const pca = fitPca(gallery, Math.min(d, all.d), { sampleSize: 20_000, random: seededRandom(5) });
  return { gallery: transformPca(pca, gallery), queries: transformPca(pca, held) };
}

/** Fashion-MNIST pixels, queries from the held-out end of the 70,000 images (the test set). */
export function fashionDataset(n: number, d: number, queries: number): Dataset {
  return heldOutSplit(pixelVectors(loadFashionMnist()), n, d, queries);
}

/**
 * CNN features of the first n + queries Fashion-MNIST images (extraction is costly: any cache of
 * at least that many serves); the queries are the images right after the gallery.
 */
export async function fashionCnnDataset(n: number, d: number, queries: number): Promise<Dataset> {
  const set = loadFashionMnist();
  const extractor = await createFeatureExtractor();
  try {
    const features = await fashionMnistFeatures({
      extractor,
      n: Math.min(set.n, n + queries),
      data: set,
      onProgress: ({ done, total }) => process.stderr.write(`extracting CNN features (not cached yet) ${done}/${total}\r`),
    });
    return heldOutSplit(features.vectors, n, d, queries);
  } finally {
    extractor.dispose();
  }
}

export async function loadDataset(name: DatasetName, n: number, d: number, queries: number, seed: number): Promise<Dataset> {
  if (name === 'clustered') return syntheticDataset(n, d, queries, seed);
  if (name === 'fashion-mnist') return fashionDataset(n, d, queries);
  if (name === 'fashion-cnn') return fashionCnnDataset(n, d, queries);
  throw new Error(`unknown data set "${String(name)}": use ${DATASET_NAMES.join(', ')}`);
}
