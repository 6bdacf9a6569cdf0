/**
 * Face embeddings for the two-server identification scheme, with @vladmandic/face-api and the
 * weights it ships in node_modules: detect faces (SSD MobileNetV1, or the tiny detector), keep
 * the most prominent one (largest box), locate its 68 landmarks, align it (level eyes, square
 * chip around the landmarks) and compute the 128-d descriptor of face-api's port of dlib's
 * ResNet face recogniser. Descriptors of one person lie within about 0.6 (Euclidean) of each
 * other, dlib's published threshold.
 */
import { InvalidParametersError } from '../core/errors';
import { initTensorflow } from './backend';
import { loadImage, resolveLimits, sourceName } from './decode';
import { NoFaceFoundError } from './errors';
import type { Point } from './face-align';
import { alignmentFrame, extractAlignedChip } from './face-align';
import { stderrJsonLogger } from './log';
import { faceApiModelDirectory } from './models/package-files';
import type { BackendName, ImageLimits, ImageSource, Logger, Tensor3D, Tf } from './types';

export const FACE_DESCRIPTOR_DIMENSION = 128;
/** Input side of the recognition network (dlib's 150x150 face chips). */
const CHIP_SIZE = 150;
/** Images are shrunk to at most this side before detection: enough for faces down to ~30 px. */
export const DEFAULT_FACE_MAX_SIDE = 1600;

export type FaceDetectorName = 'ssd_mobilenet_v1' | 'tiny_face_detector';

export interface FaceEmbedderOptions {
  /** Default 'ssd_mobilenet_v1' (more accurate); 'tiny_face_detector' is several times faster. */
  readonly detector?: FaceDetectorName;
  /** Detection score threshold in (0, 1), default 0.5. */
  readonly minConfidence?: number;
  /** Longest side the image is shrunk to before detection (default {@link DEFAULT_FACE_MAX_SIDE}). */
  readonly maxSide?: number;
  readonly limits?: Partial<ImageLimits>;
  readonly backend?: BackendName;
  readonly log?: Logger;
}

export interface FaceBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface FaceDescription {
  /** The 128-d descriptor (face-api's scale: same person typically < 0.6 apart). */
  readonly descriptor: Float64Array;
  /** Detection box of the chosen face, in the stored image's pixel coordinates. */
  readonly box: FaceBox;
  /** Detector confidence of the chosen face. */
  readonly score: number;
  /** 68 landmarks as x0, y0, x1, y1, ... in the stored image's pixel coordinates. */
  readonly landmarks: Float64Array;
  /** In-plane rotation removed by the alignment, in degrees. */
  readonly rollDegrees: number;
  /** Faces found above the threshold (the largest one was described). */
  readonly facesFound: number;
}

export interface FaceEmbedder {
  readonly dimension: typeof FACE_DESCRIPTOR_DIMENSION;
  readonly backend: BackendName;
  readonly detector: FaceDetectorName;
  /** @throws NoFaceFoundError when no face reaches the threshold; ImageInputError subclasses for unusable files. */
  describe(image: ImageSource): Promise<FaceDescription>;
  dispose(): void;
}

// The narrow slice of face-api used here. Its bundled .d.ts carries its own copy of the tfjs
// types, which do not unify with @tensorflow/tfjs's, so tensors cross as our own Tensor3D.
interface FaceApiNet {
  loadFromDisk(dir: string): Promise<void>;
  dispose(): void;
}
interface FaceApiDetection {
  readonly score: number;
  readonly box: FaceBox;
}
interface FaceApiModule {
  SsdMobilenetv1: new () => FaceApiNet & { locateFaces(input: Tensor3D, options: unknown): Promise<FaceApiDetection[]> };
  TinyFaceDetector: new () => FaceApiNet & { locateFaces(input: Tensor3D, options: unknown): Promise<FaceApiDetection[]> };
  FaceLandmark68Net: new () => FaceApiNet & { detectLandmarks(input: Tensor3D): Promise<{ positions: Point[] } | { positions: Point[] }[]> };
  FaceRecognitionNet: new () => FaceApiNet & { computeFaceDescriptor(input: Tensor3D): Promise<Float32Array | Float32Array[]> };
  SsdMobilenetv1Options: new (options: { minConfidence: number; maxResults: number }) => unknown;
  TinyFaceDetectorOptions: new (options: { inputSize: number; scoreThreshold: number }) => unknown;
}

/** face-api's Node builds: one requires @tensorflow/tfjs-node, the other plain tfjs with the WASM backend. */
async function importFaceApi(backend: BackendName): Promise<FaceApiModule> {
  const specifier =
    backend === 'tensorflow' ? '@vladmandic/face-api/dist/face-api.node.js' : '@vladmandic/face-api/dist/face-api.node-wasm.js';
  const mod = (await import(/* @vite-ignore */ specifier)) as { default?: FaceApiModule } & FaceApiModule;
  return mod.default ?? mod;
}

function checkOptions(options: FaceEmbedderOptions): { detector: FaceDetectorName; minConfidence: number; maxSide: number } {
  const detector = options.detector ?? 'ssd_mobilenet_v1';
  if (detector !== 'ssd_mobilenet_v1' && detector !== 'tiny_face_detector') {
    throw new InvalidParametersError(`face detector must be ssd_mobilenet_v1 or tiny_face_detector, got "${detector}"`);
  }
  const minConfidence = options.minConfidence ?? 0.5;
  if (!(minConfidence > 0 && minConfidence < 1)) throw new InvalidParametersError(`minConfidence must lie in (0, 1), got ${minConfidence}`);
  const maxSide = options.maxSide ?? DEFAULT_FACE_MAX_SIDE;
  if (!Number.isInteger(maxSide) || maxSide < 64 || maxSide > 8192) {
    throw new InvalidParametersError(`maxSide must be an integer in [64, 8192], got ${maxSide}`);
  }
  return { detector, minConfidence, maxSide };
}

/** The three networks, loaded, and what describing a face needs besides them. */
interface FaceNetworks {
  readonly tf: Tf;
  readonly detector: FaceDetectorName;
  readonly detectorNet: InstanceType<FaceApiModule['SsdMobilenetv1']>;
  readonly detectorOptions: unknown;
  readonly landmarkNet: InstanceType<FaceApiModule['FaceLandmark68Net']>;
  readonly recognitionNet: InstanceType<FaceApiModule['FaceRecognitionNet']>;
  readonly minConfidence: number;
  readonly maxSide: number;
  readonly limits: ImageLimits;
}

/** Loads the detector, landmark and recognition networks once. */
export async function createFaceEmbedder(options: FaceEmbedderOptions = {}): Promise<FaceEmbedder> {
  const { detector, minConfidence, maxSide } = checkOptions(options);
  const limits = resolveLimits(options.limits);
  const log = options.log ?? stderrJsonLogger;
  const { tf, name: backend } = await initTensorflow({ prefer: options.backend, log });
  const faceapi = await importFaceApi(backend);
  const dir = faceApiModelDirectory();
  const detectorNet = detector === 'ssd_mobilenet_v1' ? new faceapi.SsdMobilenetv1() : new faceapi.TinyFaceDetector();
  const landmarkNet = new faceapi.FaceLandmark68Net();
  const recognitionNet = new faceapi.FaceRecognitionNet();
  await Promise.all([detectorNet.loadFromDisk(dir), landmarkNet.loadFromDisk(dir), recognitionNet.loadFromDisk(dir)]);
  const detectorOptions =
    detector === 'ssd_mobilenet_v1'
      ? new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 })
      : new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: minConfidence });
  log({ level: 'info', event: 'face-model', detector, backend, descriptor: 'face-api FaceRecognitionNet (dlib ResNet-34 port), 128-d' });
  const networks: FaceNetworks = { tf, detector, detectorNet, detectorOptions, landmarkNet, recognitionNet, minConfidence, maxSide, limits };
  let disposed = false;
  return {
    dimension: FACE_DESCRIPTOR_DIMENSION,
    backend,
    detector,
    describe: async (source: ImageSource): Promise<FaceDescription> => {
      if (disposed) throw new InvalidParametersError('this face embedder has been disposed');
      return describeFace(networks, source);
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      detectorNet.dispose();
      landmarkNet.dispose();
      recognitionNet.dispose();
    },
  };
}

/**
 * Detects the faces of one image, keeps the most prominent one, locates its landmarks, aligns it
 * and computes its descriptor. Boxes and landmarks are scaled back to the stored image's pixels.
 */
async function describeFace(networks: FaceNetworks, source: ImageSource): Promise<FaceDescription> {
  const { tf, detector, minConfidence } = networks;
  const name = sourceName(source, 0);
  const image = await loadImage(source, name, { maxSide: networks.maxSide }, networks.limits);
  const scale = image.sourceWidth / image.width;
  const input = tf.tensor3d(image.pixels, [image.height, image.width, 3], 'int32');
  try {
    const detections = await networks.detectorNet.locateFaces(input, networks.detectorOptions);
    if (detections.length === 0) {
      throw new NoFaceFoundError(name, `no face found (detector ${detector}, minimum confidence ${minConfidence})`);
    }
    // Most prominent = largest box; ties go to the more confident detection.
    const best = [...detections].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height || b.score - a.score)[0];
    const points = await landmarksIn(networks, input, best.box, image, name);
    const frame = alignmentFrame(points);
    const descriptor = await descriptorOfChip(networks, extractAlignedChip(image.pixels, image.width, image.height, frame, CHIP_SIZE));
    const landmarks = new Float64Array(points.length * 2);
    points.forEach((p, i) => {
      landmarks[2 * i] = p.x * scale;
      landmarks[2 * i + 1] = p.y * scale;
    });
    return {
      descriptor,
      box: { x: best.box.x * scale, y: best.box.y * scale, width: best.box.width * scale, height: best.box.height * scale },
      score: best.score,
      landmarks,
      rollDegrees: (frame.angle * 180) / Math.PI,
      facesFound: detections.length,
    };
  } finally {
    input.dispose();
  }
}

/** The 68 landmarks of the face in `box`, found on its crop, in the image's pixel coordinates. */
async function landmarksIn(
  { tf, landmarkNet }: FaceNetworks,
  input: Tensor3D,
  box: FaceBox,
  image: { readonly width: number; readonly height: number },
  name: string,
): Promise<Point[]> {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(image.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(image.height, Math.ceil(box.y + box.height));
  if (x1 - x0 < 8 || y1 - y0 < 8) throw new NoFaceFoundError(name, 'the detected face is too small to describe');
  const crop = tf.slice(input, [y0, x0, 0], [y1 - y0, x1 - x0, 3]) as Tensor3D;
  let found;
  try {
    found = await landmarkNet.detectLandmarks(crop);
  } finally {
    crop.dispose();
  }
  const relative = (Array.isArray(found) ? found[0] : found).positions;
  return relative.map((p) => ({ x: p.x + x0, y: p.y + y0 }));
}

/** The 128-d descriptor of an aligned CHIP_SIZE x CHIP_SIZE face chip (RGB values). */
async function descriptorOfChip({ tf, recognitionNet }: FaceNetworks, chipPixels: Float32Array): Promise<Float64Array> {
  const chip = tf.tensor3d(chipPixels, [CHIP_SIZE, CHIP_SIZE, 3]);
  let raw;
  try {
    raw = await recognitionNet.computeFaceDescriptor(chip);
  } finally {
    chip.dispose();
  }
  return Float64Array.from(Array.isArray(raw) ? raw[0] : raw);
}
