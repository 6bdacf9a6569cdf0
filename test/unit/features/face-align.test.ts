import { describe, expect, it } from 'vitest';
import type { Point } from '../../../lib/features/face-align';
import { ALIGNMENT_PADDING, alignmentFrame, extractAlignedChip } from '../../../lib/features/face-align';

/** 68 synthetic landmarks of an upright face centred at (0, 0): eyes at y = -10, jaw and mouth below. */
function uprightFace(): Point[] {
  const points: Point[] = [];
  for (let i = 0; i < 17; i++) points.push({ x: -30 + (60 * i) / 16, y: 10 + 20 * Math.sin((Math.PI * i) / 16) }); // jaw 0-16
  for (let i = 17; i < 36; i++) points.push({ x: -20 + (40 * (i - 17)) / 18, y: -18 + ((i - 17) % 5) }); // brows, nose 17-35
  for (let i = 0; i < 6; i++) points.push({ x: -15 + 4 * Math.cos((Math.PI * i) / 3), y: -10 + 2 * Math.sin((Math.PI * i) / 3) }); // eye 36-41
  for (let i = 0; i < 6; i++) points.push({ x: 15 + 4 * Math.cos((Math.PI * i) / 3), y: -10 + 2 * Math.sin((Math.PI * i) / 3) }); // eye 42-47
  for (let i = 48; i < 68; i++) points.push({ x: -10 + (20 * (i - 48)) / 19, y: 18 + ((i - 48) % 3) }); // mouth 48-67
  return points;
}

function transform(points: Point[], angle: number, scale: number, dx: number, dy: number): Point[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return points.map((p) => ({ x: dx + scale * (c * p.x - s * p.y), y: dy + scale * (s * p.x + c * p.y) }));
}

describe('alignmentFrame', () => {
  it('recovers the in-plane rotation, and the frame follows the face (similarity-equivariant)', () => {
    const base = alignmentFrame(transform(uprightFace(), 0, 1, 100, 80));
    expect(base.angle).toBeCloseTo(0, 12);
    // Upright: landmark box spans x in [-30, 30] and y in [-18, 30], so the side is 60 * (1 + padding).
    expect(base.side).toBeCloseTo(60 * (1 + ALIGNMENT_PADDING), 9);
    expect(base.centre.x).toBeCloseTo(100, 9);
    expect(base.centre.y).toBeCloseTo(86, 9);
    for (const angle of [0.3, -0.7, 1.2]) {
      const frame = alignmentFrame(transform(uprightFace(), angle, 2, 300, 200));
      expect(frame.angle).toBeCloseTo(angle, 9);
      expect(frame.side).toBeCloseTo(2 * base.side, 9);
      // The upright centre (0, 6) mapped by the same similarity.
      expect(frame.centre.x).toBeCloseTo(300 + 2 * (-Math.sin(angle) * 6), 9);
      expect(frame.centre.y).toBeCloseTo(200 + 2 * (Math.cos(angle) * 6), 9);
    }
  });

  it('needs exactly 68 landmarks', () => {
    expect(() => alignmentFrame(uprightFace().slice(1))).toThrow(RangeError);
  });
});

describe('extractAlignedChip', () => {
  // A 40 x 30 image whose red channel is x and green channel is y (blue constant).
  const width = 40;
  const height = 30;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgb.set([x, y, 7], (y * width + x) * 3);
  }

  it('with no rotation and one pixel per chip pixel, copies the square crop', () => {
    const chip = extractAlignedChip(rgb, width, height, { centre: { x: 20, y: 15 }, side: 10, angle: 0 }, 10);
    for (let v = 0; v < 10; v++) {
      for (let u = 0; u < 10; u++) {
        const o = (v * 10 + u) * 3;
        expect([chip[o], chip[o + 1], chip[o + 2]]).toEqual([15 + u, 10 + v, 7]);
      }
    }
  });

  it('rotated by 90 degrees, chip rows run down the image columns', () => {
    const chip = extractAlignedChip(rgb, width, height, { centre: { x: 20, y: 15 }, side: 10, angle: Math.PI / 2 }, 10);
    // Chip (u, v) samples image (centre.x - (v - 4.5), centre.y + (u - 4.5)) in pixel-centre terms.
    for (const [u, v] of [[0, 0], [9, 0], [3, 7]]) {
      const o = (v * 10 + u) * 3;
      expect(chip[o]).toBeCloseTo(15 + (9 - v), 4);
      expect(chip[o + 1]).toBeCloseTo(10 + u, 4);
    }
  });

  it('clamps at the border instead of reading outside the image', () => {
    const chip = extractAlignedChip(rgb, width, height, { centre: { x: 0, y: 0 }, side: 20, angle: 0 }, 4);
    for (let i = 0; i < chip.length; i += 3) {
      expect(chip[i]).toBeGreaterThanOrEqual(0);
      expect(chip[i]).toBeLessThanOrEqual(width - 1);
      expect(chip[i + 1]).toBeLessThanOrEqual(height - 1);
    }
    expect([chip[0], chip[1]]).toEqual([0, 0]);
  });
});
