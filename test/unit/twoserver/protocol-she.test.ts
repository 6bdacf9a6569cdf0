import { protocolSuite } from './support/protocol-suite';

// Small SHE parameters (k0 = 384) keep the test fast; they satisfy the same validated bounds as
// the paper's (1024, 30, 80). bBits 48 >> log2(dist2Max) ~ 25: per-value offsets hide values.
protocolSuite({
  backend: 'she',
  params: { d: 8, maxAbs: 999, aBits: 16, bBits: 48, k0: 384, k1: 12, k2: 56 },
  n: 400,
  partitions: 8,
  eps: 4,
  queries: 8,
  wideBlinding: true,
});
