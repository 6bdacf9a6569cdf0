/**
 * The benchmarks' data sets: a gallery and held-out queries, either seeded synthetic clusters
 * (lib/data/synthetic) or Fashion-MNIST pixels projected by PCA fitted on the gallery, with the
 * queries from the held-out end of the 70,000 images.
 */
import { clusteredVectors } from '../../lib/data/synthetic';
import { loadFashionMnist, pixelVectors } from '../../lib/data/fashion-mnist';
import { selectRows, type VectorSet } from '../../lib/linalg/vectors';
import { fitPca, transformPca } from '../../lib/ml/pca';

export type DatasetName = 'clustered' | 'fashion-mnist';

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

/** Fashion-MNIST pixels, PCA to d (fitted on the gallery), queries from the held-out end. */
export function fashionDataset(n: number, d: number, queries: number): Dataset {
  const set = loadFashionMnist();
  if (n + queries > set.n) throw new Error(`Fashion-MNIST has ${set.n} images; n + queries = ${n + queries}`);
  const pixels = pixelVectors(set);
  const gallery = selectRows(pixels, range(0, n));
  const held = selectRows(pixels, range(set.n - queries, queries));
  const pca = fitPca(gallery, d, { sampleSize: 20_000 });
  return { gallery: transformPca(pca, gallery), queries: transformPca(pca, held) };
}

export function loadDataset(name: DatasetName, n: number, d: number, queries: number, seed: number): Dataset {
  if (name === 'fashion-mnist') return fashionDataset(n, d, queries);
  if (name === 'clustered') return syntheticDataset(n, d, queries, seed);
  throw new Error(`unknown data set "${String(name)}": use clustered or fashion-mnist`);
}
