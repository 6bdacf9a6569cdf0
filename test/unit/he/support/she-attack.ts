/**
 * The lattice attack on SHE (docs/two-server-scheme.md, "SHE is not secure against CS1"): from N and ONE
 * ciphertext c = p t + x0 with a small noise integer 0 <= x0 < X, recover p.
 *
 * Howgrave-Graham / Coppersmith with m = 2: f(x) = x - c has the root x0 modulo p. The four
 * polynomials N^2, N f(x), f(x)^2, x f(x)^2 all vanish at x0 modulo p^2. LLL on the coefficient
 * vectors of g(xX) finds a short combination h; when ||h(xX)|| < p^2 / 2, |h(x0)| < p^2 and
 * h(x0) = 0 over the integers, so x0 is an integer root of the cubic h, and gcd(c - x0, N) = p.
 * With det = N^3 X^6 this needs roughly X < N^(1/6) / 2 (X = 2^(2 k2 + 2) for SHE ciphertexts).
 */
import { gcd, isqrt, lllReduce } from './lll';

/** Coefficient rows (constant term first) of N^2, N f(xX), f(xX)^2, xX f(xX)^2 with f(x) = x - c. */
export function coppersmithLattice(N: bigint, c: bigint, X: bigint): bigint[][] {
  return [
    [N * N, 0n, 0n, 0n],
    [-N * c, N * X, 0n, 0n],
    [c * c, -2n * c * X, X * X, 0n],
    [0n, c * c * X, -2n * c * X * X, X * X * X],
  ];
}

function evaluate(poly: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let i = poly.length - 1; i >= 0; i--) acc = acc * x + poly[i];
  return acc;
}

const sign = (v: bigint): number => (v > 0n ? 1 : v < 0n ? -1 : 0);

/** Integer roots of a polynomial (degree <= 3) in [lo, hi], by bisection between critical points. */
export function integerRoots(poly: readonly bigint[], lo: bigint, hi: bigint): bigint[] {
  const cuts = [lo, hi];
  // Critical points of a cubic a3 x^3 + a2 x^2 + a1 x + a0: roots of 3 a3 x^2 + 2 a2 x + a1.
  const [, a1, a2, a3] = [...poly, 0n, 0n, 0n, 0n];
  if (a3 !== 0n) {
    const disc = 4n * a2 * a2 - 12n * a3 * a1;
    if (disc >= 0n) {
      const r = isqrt(disc);
      for (const num of [-2n * a2 - r, -2n * a2 + r]) {
        for (const cp of [num / (6n * a3), num / (6n * a3) - 1n, num / (6n * a3) + 1n]) if (cp > lo && cp < hi) cuts.push(cp);
      }
    }
  } else if (a2 !== 0n) {
    const cp = -a1 / (2n * a2);
    if (cp > lo && cp < hi) cuts.push(cp);
  }
  cuts.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const roots = new Set<bigint>();
  for (let i = 0; i + 1 < cuts.length; i++) {
    let a = cuts[i];
    let b = cuts[i + 1];
    if (evaluate(poly, a) === 0n) roots.add(a);
    if (evaluate(poly, b) === 0n) roots.add(b);
    if (sign(evaluate(poly, a)) * sign(evaluate(poly, b)) >= 0) continue;
    while (b - a > 1n) {
      const mid = (a + b) >> 1n;
      if (sign(evaluate(poly, mid)) === sign(evaluate(poly, a))) a = mid;
      else b = mid;
    }
    for (const x of [a, b]) if (evaluate(poly, x) === 0n) roots.add(x);
  }
  return [...roots];
}

/** p from N and one ciphertext whose noise integer lies in [0, 2^xBits); undefined if it fails. */
export function recoverPrime(N: bigint, c: bigint, xBits: number): bigint | undefined {
  const X = 1n << BigInt(xBits);
  const reduced = lllReduce(coppersmithLattice(N, c, X));
  for (const row of reduced) {
    const poly = row.map((coefficient, i) => coefficient / X ** BigInt(i));
    if (row.some((coefficient, i) => coefficient % X ** BigInt(i) !== 0n)) continue;
    for (const x0 of integerRoots(poly, 0n, X)) {
      const g = gcd(c - x0, N);
      if (g > 1n && g < N) return g;
    }
  }
  return undefined;
}

/**
 * L from p and ciphertexts of 0 and 1: (E(0) mod p) = r L and (E(1) mod p) - 1 = r L, so their
 * gcd is L times a (usually trivial) cofactor; a wrong divisor is recognised because it decrypts a
 * template coordinate outside [-maxAbs, maxAbs].
 */
export function recoverL(p: bigint, zeros: readonly bigint[], ones: readonly bigint[], k2: number, check: (L: bigint) => boolean): bigint | undefined {
  let g = 0n;
  for (const z of zeros) g = gcd(g, z % p);
  for (const o of ones) g = gcd(g, (o % p) - 1n);
  const excess = g.toString(2).length - k2;
  if (excess < 0) return undefined;
  for (let s = 1n; s <= 1n << BigInt(excess + 1); s++) {
    if (g % s !== 0n) continue;
    const L = g / s;
    if (L.toString(2).length === k2 && check(L)) return L;
  }
  return undefined;
}
