import { bfvContractSetup } from './support/bfv-setup';
import { describeHeBackendContract } from './support/contract';

// Dimensions that do not divide N = 8192 (1170 and 27 vectors per record, slots left over) and
// the degenerate d = 1 (8192 per record), with the default blinding sizes.
for (const d of [1, 7, 300]) describeHeBackendContract(`bfv d=${d}`, bfvContractSetup({ d, maxAbs: 1000 }));
