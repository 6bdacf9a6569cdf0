/**
 * Images as the workflows take them: named entries whose bytes can be read (a file on disk, a
 * file a person dropped on a web page), and feature extraction over many of them where an
 * unusable image is skipped and named, never fatal.
 */
import { InvalidInputError } from '../core/errors';
import { ImageInputError } from '../features/errors';
import type { ImageSource, SkippedFile } from '../features/types';
import type { VectorSet } from '../linalg/vectors';
import { info, warn } from './events';
import type { StepProgress, WorkflowListener } from './events';
import type { ImageFeatureExtractor } from './features';

export interface ImageEntry {
  /** How the user knows the image: a path relative to the indexed folder, a file name. */
  readonly name: string;
  /** What the feature model decodes: the bytes, or (Node) the path of the file. */
  readonly source: ImageSource;
  /** The encoded bytes (what is encrypted and uploaded). */
  read(): Promise<Uint8Array>;
}

/** The images of a folder or a selection, and what could not even be listed. */
export interface ImageListing {
  readonly entries: readonly ImageEntry[];
  readonly unreadable: readonly SkippedFile[];
}

export interface ExtractedImages {
  /** The entries that produced a vector, in the order of the vectors. */
  readonly entries: ImageEntry[];
  readonly vectors: VectorSet;
  readonly skipped: SkippedFile[];
}

/** Images per extract() call: a few network batches, so decoding overlaps the network. */
const EXTRACT_CHUNK = 128;

/**
 * Features of every usable entry. A chunk that fails on an unusable image is extracted again
 * one image at a time, so only the bad images are skipped (with the decoder's reason); any
 * other error (the model failing) stops the extraction.
 */
export async function extractImages(extractor: ImageFeatureExtractor, entries: readonly ImageEntry[], progress?: StepProgress): Promise<ExtractedImages> {
  const good: ImageEntry[] = [];
  const skipped: SkippedFile[] = [];
  const rows: VectorSet[] = [];
  const d = extractor.dimension;
  progress?.update(0, entries.length);
  for (let from = 0; from < entries.length; from += EXTRACT_CHUNK) {
    const chunk = entries.slice(from, from + EXTRACT_CHUNK);
    try {
      rows.push(await extractor.extract(chunk.map((entry) => entry.source)));
      good.push(...chunk);
    } catch (error) {
      if (!(error instanceof ImageInputError)) throw error;
      for (const entry of chunk) {
        try {
          rows.push(await extractor.extract([entry.source]));
          good.push(entry);
        } catch (inner) {
          if (!(inner instanceof ImageInputError)) throw inner;
          skipped.push({ file: entry.name, reason: inner.problem });
        }
      }
    }
    progress?.update(Math.min(entries.length, from + EXTRACT_CHUNK), entries.length, skipped.length > 0 ? `${skipped.length} skipped` : undefined);
  }
  const data = new Float64Array(good.length * d);
  let at = 0;
  for (const set of rows) {
    data.set(set.data, at);
    at += set.data.length;
  }
  return { entries: good, vectors: { n: good.length, d, data }, skipped };
}

/**
 * Query images that could not be used: the end of the run when the caller gave one image
 * (skipUnusable false), else a warning naming them (the run goes on with the others).
 */
export function reportSkippedQueries(listener: WorkflowListener, skipped: readonly SkippedFile[], usable: number, skipUnusable: boolean | undefined): void {
  if (skipped.length > 0) {
    if (skipUnusable === false) throw new InvalidInputError(`${skipped[0].file}: ${skipped[0].reason}`);
    warn(listener, `${skipped.length} query ${skipped.length === 1 ? 'image could not be used and was' : 'images could not be used and were'} skipped:`);
    for (const { file, reason } of skipped.slice(0, 10)) info(listener, `  ${file}: ${reason}`);
  }
  if (usable === 0) throw new InvalidInputError('none of the query images can be used');
}
