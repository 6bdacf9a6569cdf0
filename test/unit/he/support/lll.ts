/**
 * Exact integral LLL (Cohen, "A Course in Computational Algebraic Number Theory", Alg. 2.6.7):
 * only integers — the Gram determinants d_i and the scaled Gram-Schmidt coefficients
 * lambda_{k,j} = d_j mu_{k,j} — so no rounding error and no rational blow-up. Used by the
 * tests to demonstrate the lattice attack on SHE; small dimensions only.
 */

function dot(a: readonly bigint[], b: readonly bigint[]): bigint {
  let s = 0n;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

/** floor(a / b) for b > 0. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** Nearest integer to a / b for b > 0. */
function roundDiv(a: bigint, b: bigint): bigint {
  return floorDiv(2n * a + b, 2n * b);
}

/**
 * LLL-reduces the rows of `basis` (linearly independent integer vectors) with Lovász constant
 * deltaNum / deltaDen (default 0.99). Returns a new reduced basis of the same lattice.
 */
export function lllReduce(basis: readonly (readonly bigint[])[], deltaNum = 99n, deltaDen = 100n): bigint[][] {
  const n = basis.length;
  // 1-based as in Cohen: b[1..n], d[0..n], lambda[k][j] for j < k.
  const b: bigint[][] = [[], ...basis.map((row) => [...row])];
  const d: bigint[] = new Array<bigint>(n + 1).fill(0n);
  const lambda: bigint[][] = Array.from({ length: n + 1 }, () => new Array<bigint>(n + 1).fill(0n));
  d[0] = 1n;
  d[1] = dot(b[1], b[1]);
  let k = 2;
  let kmax = 1;

  const red = (kk: number, l: number): void => {
    if (2n * abs(lambda[kk][l]) <= d[l]) return;
    const q = roundDiv(lambda[kk][l], d[l]);
    for (let i = 0; i < b[kk].length; i++) b[kk][i] -= q * b[l][i];
    lambda[kk][l] -= q * d[l];
    for (let i = 1; i < l; i++) lambda[kk][i] -= q * lambda[l][i];
  };

  const swap = (kk: number): void => {
    [b[kk], b[kk - 1]] = [b[kk - 1], b[kk]];
    for (let j = 1; j <= kk - 2; j++) [lambda[kk][j], lambda[kk - 1][j]] = [lambda[kk - 1][j], lambda[kk][j]];
    const lam = lambda[kk][kk - 1];
    const B = (d[kk - 2] * d[kk] + lam * lam) / d[kk - 1];
    for (let i = kk + 1; i <= kmax; i++) {
      const t = lambda[i][kk];
      lambda[i][kk] = (d[kk] * lambda[i][kk - 1] - lam * t) / d[kk - 1];
      lambda[i][kk - 1] = (B * t + lam * lambda[i][kk]) / d[kk];
    }
    d[kk - 1] = B;
  };

  if (n < 2) return basis.map((row) => [...row]);
  while (k <= n) {
    if (k > kmax) {
      kmax = k;
      for (let j = 1; j <= k; j++) {
        let u = dot(b[k], b[j]);
        for (let i = 1; i < j; i++) u = (d[i] * u - lambda[k][i] * lambda[j][i]) / d[i - 1];
        if (j < k) lambda[k][j] = u;
        else {
          if (u === 0n) throw new Error('LLL: the vectors are linearly dependent');
          d[k] = u;
        }
      }
    }
    red(k, k - 1);
    const lam = lambda[k][k - 1];
    // Lovász: d_k d_{k-2} >= (delta d_{k-1}^2 - lambda^2), scaled by deltaDen.
    if (deltaDen * d[k] * d[k - 2] < deltaNum * d[k - 1] * d[k - 1] - deltaDen * lam * lam) {
      swap(k);
      k = Math.max(2, k - 1);
      continue;
    }
    for (let l = k - 2; l >= 1; l--) red(k, l);
    k++;
  }
  return b.slice(1);
}

/** Integer square root (floor) of a non-negative bigint. */
export function isqrt(value: bigint): bigint {
  if (value < 0n) throw new RangeError('negative');
  if (value < 2n) return value;
  // Newton from above: start at 2^ceil(bits/2) >= sqrt(value); the iterates decrease to the floor.
  let x = 1n << BigInt(Math.ceil(value.toString(2).length / 2));
  for (;;) {
    const y = (x + value / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
