/**
 * Face alignment from the 68 landmarks (iBUG 300-W numbering: 36-41 one eye, 42-47 the other):
 * a similarity transform that levels the eyes and frames the landmarks in a square chip, then
 * bilinear resampling of the RGB image into that chip. Plain arithmetic on the pixel buffer, so
 * it is deterministic and independent of the TensorFlow backend.
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** The chip: centre and side in image coordinates, and the in-plane angle removed. */
export interface AlignmentFrame {
  readonly centre: Point;
  /** Side of the square, in image pixels. */
  readonly side: number;
  /** Angle of the eye line in radians (image y axis points down); the chip undoes it. */
  readonly angle: number;
}

/** Context kept around the landmarks' bounding box, as a fraction of its larger side. */
export const ALIGNMENT_PADDING = 0.2;

function mean(points: readonly Point[], from: number, to: number): Point {
  let x = 0;
  let y = 0;
  for (let i = from; i < to; i++) {
    x += points[i].x;
    y += points[i].y;
  }
  return { x: x / (to - from), y: y / (to - from) };
}

function rotate(p: Point, about: Point, cos: number, sin: number): Point {
  const dx = p.x - about.x;
  const dy = p.y - about.y;
  return { x: about.x + cos * dx - sin * dy, y: about.y + sin * dx + cos * dy };
}

/**
 * Frame of the aligned chip: rotate the landmarks about the eye midpoint so the eyes are level,
 * take their bounding box, make it square around its centre and pad it by {@link ALIGNMENT_PADDING}.
 */
export function alignmentFrame(landmarks: readonly Point[], padding = ALIGNMENT_PADDING): AlignmentFrame {
  if (landmarks.length !== 68) throw new RangeError(`expected 68 landmarks, got ${landmarks.length}`);
  const eyeA = mean(landmarks, 36, 42);
  const eyeB = mean(landmarks, 42, 48);
  const angle = Math.atan2(eyeB.y - eyeA.y, eyeB.x - eyeA.x);
  const pivot = { x: (eyeA.x + eyeB.x) / 2, y: (eyeA.y + eyeB.y) / 2 };
  const cos = Math.cos(-angle);
  const sin = Math.sin(-angle);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of landmarks) {
    const q = rotate(p, pivot, cos, sin);
    minX = Math.min(minX, q.x);
    maxX = Math.max(maxX, q.x);
    minY = Math.min(minY, q.y);
    maxY = Math.max(maxY, q.y);
  }
  const uprightCentre = { x: (minX + maxX) / 2, y: (minY + maxY) / 2 };
  const side = Math.max(maxX - minX, maxY - minY) * (1 + padding);
  // Back to image coordinates: the chip's centre is the upright centre rotated by +angle.
  const centre = rotate(uprightCentre, pivot, Math.cos(angle), Math.sin(angle));
  return { centre, side, angle };
}

/**
 * Resamples the frame of an RGB image (width x height x 3 bytes) into a size x size RGB chip
 * (float 0..255), bilinear, with coordinates clamped at the border (edge pixels repeat).
 */
export function extractAlignedChip(
  rgb: Uint8Array,
  width: number,
  height: number,
  frame: AlignmentFrame,
  size: number,
): Float32Array {
  const out = new Float32Array(size * size * 3);
  const cos = Math.cos(frame.angle);
  const sin = Math.sin(frame.angle);
  const step = frame.side / size;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      // Chip pixel centre relative to the chip centre, rotated into the image.
      const cu = (u + 0.5 - size / 2) * step;
      const cv = (v + 0.5 - size / 2) * step;
      const x = Math.min(width - 1, Math.max(0, frame.centre.x + cos * cu - sin * cv - 0.5));
      const y = Math.min(height - 1, Math.max(0, frame.centre.y + sin * cu + cos * cv - 0.5));
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = Math.min(width - 1, x0 + 1);
      const y1 = Math.min(height - 1, y0 + 1);
      const fx = x - x0;
      const fy = y - y0;
      const o = (v * size + u) * 3;
      for (let c = 0; c < 3; c++) {
        const p00 = rgb[(y0 * width + x0) * 3 + c];
        const p01 = rgb[(y0 * width + x1) * 3 + c];
        const p10 = rgb[(y1 * width + x0) * 3 + c];
        const p11 = rgb[(y1 * width + x1) * 3 + c];
        const top = p00 + (p01 - p00) * fx;
        const bottom = p10 + (p11 - p10) * fx;
        out[o + c] = top + (bottom - top) * fy;
      }
    }
  }
  return out;
}
