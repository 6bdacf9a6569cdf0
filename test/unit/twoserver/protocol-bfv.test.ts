import { protocolSuite } from './support/protocol-suite';

// d = 64 with N = 8192 packs 128 templates per record, so candidates span several records and
// some records hold candidates of two partitions (exercises the slot mapping). Default
// blinding sizes (aBits 4, offsets uniform mod t).
protocolSuite({
  backend: 'bfv',
  params: { d: 64, maxAbs: 999, polyModulusDegree: 8192 },
  n: 500,
  partitions: 6,
  eps: 2,
  queries: 2,
  wideBlinding: false,
});
