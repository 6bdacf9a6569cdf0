/**
 * Input scalings networks were trained with, as value = pixel * scale + offset per RGB channel.
 */
import { InvalidParametersError } from '../../core/errors';
import type { Normalisation } from '../types';
import type { NormalisationName } from './types';

/** pixels / 255: nsfwjs and TF-Hub image models. */
export const ZERO_ONE: Normalisation = { scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0] };

/** pixels / 127.5 - 1: Keras MobileNet "tf" mode, face-api's SSD detector. */
export const MINUS_ONE_ONE: Normalisation = { scale: [1 / 127.5, 1 / 127.5, 1 / 127.5], offset: [-1, -1, -1] };

/** (pixels / 255 - mean) / std with the ImageNet RGB statistics (PyTorch/torchvision convention). */
export const IMAGENET: Normalisation = {
  scale: [1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225)],
  offset: [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225],
};

/** Pixels as they are, 0..255. */
export const RAW: Normalisation = { scale: [1, 1, 1], offset: [0, 0, 0] };

const NAMED: Record<NormalisationName, Normalisation> = {
  zero_one: ZERO_ONE,
  minus_one_one: MINUS_ONE_ONE,
  imagenet: IMAGENET,
  raw: RAW,
};

export const NORMALISATION_NAMES = Object.keys(NAMED) as NormalisationName[];

/** Resolves a name or checks an explicit scale/offset triple. */
export function resolveNormalisation(value: NormalisationName | Normalisation | undefined): Normalisation {
  if (value === undefined) return ZERO_ONE;
  if (typeof value === 'string') {
    const found = NAMED[value];
    if (!found) throw new InvalidParametersError(`unknown normalisation "${value}": use one of ${NORMALISATION_NAMES.join(', ')}`);
    return found;
  }
  const ok = (xs: readonly number[]) => Array.isArray(xs) && xs.length === 3 && xs.every(Number.isFinite);
  if (!ok(value.scale) || !ok(value.offset) || value.scale.some((s) => s === 0)) {
    throw new InvalidParametersError('normalisation needs three finite non-zero scales and three finite offsets (one per RGB channel)');
  }
  return value;
}
