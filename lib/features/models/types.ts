/**
 * Types of the feature networks: the bundled candidates (weights inside npm packages) and
 * user-supplied TF.js models, all reduced to one contract: a normalised image batch in, one
 * pooled activation vector per image out.
 */
import type { Normalisation, Tensor2D, Tensor4D } from '../types';

/** Bundled networks; every weight file ships inside node_modules, nothing is downloaded. */
export type BundledModelId = 'mobilenet_v2' | 'mobilenet_v2_mid' | 'inception_v3' | 'faceapi_mobilenet_v1';

/**
 * Which activations become the feature: 'final' = the last convolutional block (stride 32, what
 * the network's own classifier reads); 'mid' = the widest layer of the last stride-16 stage
 * (more generic shape and texture, less tied to the training classes).
 */
export type FeatureLayer = 'final' | 'mid';

export interface FeatureNode {
  /** Graph node, layer name, or backbone block that is average-pooled. */
  readonly node: string;
  /** Feature dimension after pooling. */
  readonly dimension: number;
}

export interface BundledModelSpec {
  readonly id: BundledModelId;
  readonly description: string;
  /** npm package holding the weights. */
  readonly packageName: 'nsfwjs' | '@vladmandic/face-api';
  /** Input side the network was trained at. */
  readonly nativeInputSize: number;
  /** Smallest side that still leaves the last feature map at least 1x1 (and 32-pixel aligned). */
  readonly minInputSize: number;
  readonly featureNodes: Readonly<Record<FeatureLayer, FeatureNode>>;
  readonly normalisation: Normalisation;
}

/** A loaded network at a fixed input size. */
export interface FeatureNetwork {
  /** Model id, with the layer for bundled models ('mobilenet_v2_mid/mid'). */
  readonly id: string;
  /** Identifies the weights: 'nsfwjs@4.4.0' for bundled models, a SHA-256 prefix of model.json + weights for folders. */
  readonly version: string;
  readonly inputSize: number;
  readonly dimension: number;
  readonly normalisation: Normalisation;
  /**
   * Square-root the (non-negative, post-ReLU) pooled activations before L2 normalisation
   * ("power normalisation"): it damps the few dominant channels of a pooled ReLU map.
   */
  readonly powerNormalise: boolean;
  /**
   * [n, inputSize, inputSize, 3] normalised float input to [n, dimension] pooled activations
   * (not yet L2-normalised). The caller owns and disposes the result.
   */
  embed(input: Tensor4D): Tensor2D;
  dispose(): void;
}

export type NormalisationName = 'zero_one' | 'minus_one_one' | 'imagenet' | 'raw';

/** A TF.js graph or layers model of the user's, read from a local folder. */
export interface CustomModelSource {
  /** Folder containing model.json and its weight shards. */
  readonly folder: string;
  /** Square input side; defaults to the model's declared input when it is fixed. */
  readonly inputSize?: number;
  /** Graph node name or layer name to read; defaults to the model's output. Rank-4 outputs are average-pooled. */
  readonly outputNode?: string;
  /** Input scaling the model was trained with (default 'zero_one': pixels / 255). */
  readonly normalisation?: NormalisationName | Normalisation;
  /** Signed square root of the pooled output before L2 normalisation (default false: embeddings stay as trained). */
  readonly powerNormalise?: boolean;
}
