/**
 * she KeyGen(k0, k1, k2) with validated parameters (./params), and the public values clients
 * encrypt with: E(1) and publicZeros E(0).
 */
import { newKeyId } from '../formats';
import type { SheParameters } from '../types';
import { sheLayout } from './formats';
import type { SheLayout } from './formats';
import { validateSheParameters } from './params';
import { sheEncrypt, sheKeyGen } from './scheme';
import type { SheEncryptionPublic, SheSecretKey } from './scheme';

export interface SheKey {
  readonly layout: SheLayout;
  readonly key: SheSecretKey;
  readonly pub: SheEncryptionPublic;
}

export function generateSheKey(params: SheParameters): SheKey {
  const resolved = validateSheParameters(params);
  const key = sheKeyGen(resolved.k0, resolved.k2);
  const layout = sheLayout(resolved, newKeyId(), key.N);
  const zeros = Array.from({ length: resolved.publicZeros }, () => sheEncrypt(key, 0n));
  const pub: SheEncryptionPublic = { N: key.N, one: sheEncrypt(key, 1n), zeros, k2: resolved.k2 };
  return { layout, key, pub };
}
