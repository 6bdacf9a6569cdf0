import { bfvContractSetup } from './support/bfv-setup';
import { describeHeBackendContract } from './support/contract';

// Production shape: d = 512 in N = 8192 slots (16 vectors per record), BGV, with the large
// exact-era blinding sizes (t of 48 bits).
describeHeBackendContract('bfv d=512', bfvContractSetup({ d: 512, maxAbs: 1000, aBits: 16, bBits: 32 }));

// Face embeddings: d = 128 (64 per record) and d = 100 (81 per record, 92 slots left over).
// With aBits 8, bBits 16 both need t of 38 bits, which used to be the 38-bit special prime of
// the default chain [60, 60, 60, 38]: SEAL rejected the parameters.
describeHeBackendContract('bfv d=128', bfvContractSetup({ d: 128, maxAbs: 1000, aBits: 8, bBits: 16 }));
describeHeBackendContract('bfv d=100', bfvContractSetup({ d: 100, maxAbs: 1000, aBits: 8, bBits: 16 }));
