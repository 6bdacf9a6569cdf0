/**
 * Resizing RGB pixels to the model's square input with a Lanczos-3 filter, the kernel the
 * CLI's decoder (libvips through sharp) uses when an image is larger than the input: the page
 * feeds the network the same picture the CLI does, so its feature vectors match the CLI's.
 * Separable: rows first, then columns, in float, rounded to 8 bits at the end as libvips does.
 */

const LOBES = 3;

function lanczos(x: number): number {
  if (x === 0) return 1;
  if (x <= -LOBES || x >= LOBES) return 0;
  const px = Math.PI * x;
  return (LOBES * Math.sin(px) * Math.sin(px / LOBES)) / (px * px);
}

interface Taps {
  /** First source index of each output sample. */
  readonly start: Int32Array;
  /** Taps per output sample (the same for all). */
  readonly width: number;
  /** Normalised weights, `width` per output sample (zero-padded). */
  readonly weights: Float64Array;
}

/**
 * Filter taps mapping `from` samples to `to`: pixel centres aligned; when shrinking, the kernel
 * is stretched by the scale so that it low-passes before decimating; weights sum to one, and
 * taps beyond the edge are clamped to the edge sample.
 */
function taps(from: number, to: number): Taps {
  const scale = from / to;
  const stretch = Math.max(1, scale);
  const support = LOBES * stretch;
  const width = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(to);
  const weights = new Float64Array(to * width);
  for (let i = 0; i < to; i++) {
    const centre = (i + 0.5) * scale - 0.5;
    const first = Math.ceil(centre - support);
    start[i] = first;
    let sum = 0;
    for (let t = 0; t < width; t++) {
      const w = lanczos((first + t - centre) / stretch);
      weights[i * width + t] = w;
      sum += w;
    }
    for (let t = 0; t < width; t++) weights[i * width + t] /= sum;
  }
  return { start, width, weights };
}

function clamp(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/**
 * Resizes `width` x `height` RGB (3 bytes a pixel) to `outWidth` x `outHeight` (a side already
 * at its size is copied through).
 */
export function lanczosResizeRgb(pixels: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  // Rows: width -> outWidth.
  const mid = new Float64Array(outWidth * height * 3);
  if (outWidth === width) {
    for (let i = 0; i < mid.length; i++) mid[i] = pixels[i];
  } else {
    const h = taps(width, outWidth);
    for (let y = 0; y < height; y++) {
      const row = y * width * 3;
      for (let x = 0; x < outWidth; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let t = 0; t < h.width; t++) {
          const w = h.weights[x * h.width + t];
          if (w === 0) continue;
          const s = row + clamp(h.start[x] + t, width) * 3;
          r += w * pixels[s];
          g += w * pixels[s + 1];
          b += w * pixels[s + 2];
        }
        const o = (y * outWidth + x) * 3;
        mid[o] = r;
        mid[o + 1] = g;
        mid[o + 2] = b;
      }
    }
  }
  // Columns: height -> outHeight.
  const out = new Uint8Array(outWidth * outHeight * 3);
  const round = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  if (outHeight === height) {
    for (let i = 0; i < out.length; i++) out[i] = round(mid[i]);
    return out;
  }
  const v = taps(height, outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = 0; t < v.width; t++) {
        const w = v.weights[y * v.width + t];
        if (w === 0) continue;
        const s = (clamp(v.start[y] + t, height) * outWidth + x) * 3;
        r += w * mid[s];
        g += w * mid[s + 1];
        b += w * mid[s + 2];
      }
      const o = (y * outWidth + x) * 3;
      out[o] = round(r);
      out[o + 1] = round(g);
      out[o + 2] = round(b);
    }
  }
  return out;
}
