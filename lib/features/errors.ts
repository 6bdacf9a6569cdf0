/**
 * Typed errors of feature extraction. All carry code INVALID_INPUT: the image (or model folder)
 * the caller gave cannot be used, and retrying with the same input will fail the same way.
 * Messages name the file and the problem, never pixel data or feature values.
 */
import { BlindsightError } from '../core/errors';

/** Base class: an image that cannot be turned into a feature vector. */
export class ImageInputError extends BlindsightError {
  /** The file path, or "image #i" for byte arrays. */
  readonly file: string;
  /** The problem alone, without the file name (what folder extraction lists as the skip reason). */
  readonly problem: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', `${file}: ${problem}`, options);
    this.file = file;
    this.problem = problem;
  }
}

/** Not a JPEG, PNG or WebP file (text, empty, another image format...). */
export class UnsupportedImageError extends ImageInputError {}

/** The file, or the pixel count its header declares, exceeds the configured limit. */
export class ImageTooLargeError extends ImageInputError {}

/** Recognised format, but the decoder failed (truncated, corrupted). */
export class CorruptImageError extends ImageInputError {}

/** The file could not be read at all (missing, permissions, a directory...). */
export class UnreadableImageError extends ImageInputError {}

/** The face pipeline found no face above its confidence threshold. */
export class NoFaceFoundError extends ImageInputError {}

/** A user-supplied model folder (model.json + weight shards) that cannot be loaded or used. */
export class InvalidModelError extends BlindsightError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}
