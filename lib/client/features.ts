/**
 * Features as the client workflows see them: which network made an index's vectors (the spec
 * a grant carries), the small model interfaces a workflow needs (so the CLI loads TensorFlow.js
 * from node_modules and a web page loads its own copy), and the projection every vector goes
 * through before it meets a key: PCA to c <= d components, then zeros up to d.
 *
 * Why the zero padding: the owner secret is generated at `owner init` for a dimension d chosen
 * up front (default 128), but PCA on n images has at most n - 1 meaningful components. Padding
 * with zeros keeps Euclidean distances exactly, so a small first gallery and a later, larger
 * one use the same owner secret and the same user keys.
 */
import { InvalidInputError, InvalidParametersError } from '../core/errors';
import type { FaceDescription } from '../features/face';
import type { BundledModelId, FeatureLayer } from '../features/models/types';
import type { FeatureExtractor, ImageSource } from '../features/types';
import type { VectorSet } from '../linalg/vectors';
import { transformPca } from '../ml/pca';
import type { PcaModel } from '../ml/types';

/** The network, layer and input size an owner picks for an index. */
export interface ModelChoice {
  readonly model: BundledModelId;
  readonly layer: FeatureLayer;
  readonly inputSize: number;
}

/** Which feature network (and how) turns an image into the vector the index was built from. */
export interface FeatureSpec extends ModelChoice {
  /** The extractor's own ids, checked when the user loads the model. */
  readonly modelId: string;
  readonly modelVersion: string;
  readonly dimension: number;
}

/** What a workflow needs of a CNN feature extractor: unit-length vectors of encoded images. */
export type ImageFeatureExtractor = Pick<FeatureExtractor, 'model' | 'modelVersion' | 'dimension' | 'backend' | 'extract'>;

/** What a workflow needs of a face model: one descriptor per image (its largest face). */
export interface FaceDescriber {
  describe(image: ImageSource): Promise<Pick<FaceDescription, 'descriptor'>>;
}

/** Models loaded on first use and shared by every workflow of a session. */
export interface FeatureModels {
  extractor(choice: ModelChoice): Promise<ImageFeatureExtractor>;
  faceEmbedder(): Promise<FaceDescriber>;
}

export function featureSpecOf(choice: ModelChoice, extractor: ImageFeatureExtractor): FeatureSpec {
  return {
    model: choice.model,
    layer: choice.layer,
    inputSize: choice.inputSize,
    modelId: extractor.model,
    modelVersion: extractor.modelVersion,
    dimension: extractor.dimension,
  };
}

/** Checks the loaded extractor is the network the index was built with. */
export function assertSameModel(spec: FeatureSpec, extractor: ImageFeatureExtractor): void {
  if (extractor.model !== spec.modelId || extractor.dimension !== spec.dimension) {
    throw new InvalidParametersError(
      `the index was built with feature model ${spec.modelId} (${spec.dimension}-d), but ${extractor.model} (${extractor.dimension}-d) was loaded`,
    );
  }
  if (extractor.modelVersion !== spec.modelVersion) {
    throw new InvalidParametersError(
      `the index was built with weights ${spec.modelVersion}, this installation has ${extractor.modelVersion}: install the same version or re-index`,
    );
  }
}

/** The extractor an index was built with, checked against its spec. */
export async function extractorFor(models: FeatureModels, spec: FeatureSpec): Promise<ImageFeatureExtractor> {
  const extractor = await models.extractor(spec);
  assertSameModel(spec, extractor);
  return extractor;
}

/** PCA to the model's components, then zero columns up to d (see the module comment). */
export function projectFeatures(pca: PcaModel, features: VectorSet, d: number): VectorSet {
  if (pca.components > d) throw new InvalidParametersError(`PCA has ${pca.components} components, more than the index dimension ${d}`);
  const projected = transformPca(pca, features);
  if (pca.components === d) return projected;
  const out = new Float64Array(features.n * d);
  for (let i = 0; i < features.n; i++) out.set(projected.data.subarray(i * pca.components, (i + 1) * pca.components), i * d);
  return { n: features.n, d, data: out };
}

/** Rows scaled to unit length (zero rows stay zero): identification embeddings then lie in [-1, 1]. */
export function unitRows(set: VectorSet): VectorSet {
  const { n, d } = set;
  const data = Float64Array.from(set.data);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += data[i * d + j] ** 2;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let j = 0; j < d; j++) data[i * d + j] /= norm;
  }
  return { n, d, data };
}

/** PCA'd (no padding) unit-length rows: the 'cnn-pca' identification embedding. */
export function identificationEmbeddings(pca: PcaModel, features: VectorSet): VectorSet {
  return unitRows(transformPca(pca, features));
}

/** round(x * 10^decimals), clamped to [-maxAbs, maxAbs]: the integers the HE schemes encrypt. */
export function quantizeEmbeddings(set: VectorSet, decimals: number, maxAbs: number): VectorSet {
  const scale = 10 ** decimals;
  const data = new Float64Array(set.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = set.data[i];
    if (!Number.isFinite(v)) throw new InvalidInputError('an embedding holds a non-finite number');
    data[i] = Math.max(-maxAbs, Math.min(maxAbs, Math.round(v * scale))) + 0;
  }
  return { n: set.n, d: set.d, data };
}
