/**
 * Cutting work into the fewest parts of bounded size, as even as possible: CS1 spreads a shard's
 * candidate records over several worker tasks, and a CS2 batch goes as several parts. Even parts
 * keep the slowest one (the critical path) as short as the count allows.
 */
import { InvalidParametersError } from './errors';

/**
 * Sizes of the fewest parts of at most `maxPerPart` items that hold `count` items, as even as
 * possible: every part holds floor(count / parts) or one more, the larger ones first. Zero items
 * make one empty part; `maxPerPart` may be Infinity (one part).
 */
export function evenPartSizes(count: number, maxPerPart: number): number[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new InvalidParametersError(`even split: count must be a non-negative integer, got ${count}`);
  if (!(maxPerPart >= 1)) throw new InvalidParametersError(`even split: maxPerPart must be at least 1, got ${maxPerPart}`);
  const parts = Math.max(1, Math.ceil(count / maxPerPart));
  return Array.from({ length: parts }, (_, part) => Math.floor(count / parts) + (part < count % parts ? 1 : 0));
}

/** `items` cut into consecutive chunks of the sizes {@link evenPartSizes} gives. */
export function evenChunks<T>(items: readonly T[], maxPerChunk: number): T[][] {
  let start = 0;
  return evenPartSizes(items.length, maxPerChunk).map((size) => items.slice(start, (start += size)));
}
