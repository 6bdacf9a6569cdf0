/**
 * The identification policy of a two-server index: what a user may ask and how often. The
 * owner (provider) fixes it when building the index; it travels inside CS1's index (so it is
 * versioned, validated at publish and cannot drift from the index it protects) and CS1 enforces
 * it on every request.
 *
 * Why these limits. Identification answers are ids only, nearest first, but every answer still
 * tells a user which templates lie near a point of their choosing. The threshold and k bound
 * what one answer can say (a range query beyond maxTauSquared or a list longer than maxK would
 * let a user probe far from any real capture), and the per-user budget bounds how many answers
 * a user can collect per window: recovering a template by trilateration from ids-only answers
 * takes on the order of (d + 1) * log2(maxTauSquared) answers per template (docs/threat-model.md).
 */
import { InvalidInputError } from '../core/errors';

/** How many identifications a user may make per window (fixed windows aligned to the epoch). */
export interface QueryBudget {
  /** Identifications per window (>= 1). */
  readonly queries: number;
  /** Window length in seconds. */
  readonly windowSeconds: number;
}

export interface IdentificationPolicy {
  /** Largest k of a k-nearest request. */
  readonly maxK: number;
  /** Largest tauSquared of a range request (exact integer, quantized units). */
  readonly maxTauSquared: number;
  /** Per-user budget of identification requests (owners are not limited: they hold the templates). */
  readonly budget: QueryBudget;
}

/** Hard ceilings whatever the owner asks for (response size, counter ranges). */
export const POLICY_MAX_K = 100;
export const POLICY_MAX_BUDGET_QUERIES = 1_000_000;
export const POLICY_MAX_WINDOW_SECONDS = 31 * 24 * 3600;

/** Defaults of the library and CLI when the owner sets nothing (tauSquared must be chosen). */
export const DEFAULT_MAX_K = 10;
export const DEFAULT_QUERY_BUDGET: QueryBudget = { queries: 100, windowSeconds: 3600 };

/**
 * Versions published before policies existed are served with these: k-nearest up to 10,
 * exact-match range queries only, the default budget. Re-building the index sets real ones.
 */
export const LEGACY_POLICY: IdentificationPolicy = { maxK: DEFAULT_MAX_K, maxTauSquared: 0, budget: DEFAULT_QUERY_BUDGET };

function integerIn(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`identification policy: ${what} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Checks a policy (InvalidInputError naming the field); `dist2Max` bounds the threshold. */
export function validatePolicy(policy: IdentificationPolicy, dist2Max = Number.MAX_SAFE_INTEGER): IdentificationPolicy {
  if (policy === null || typeof policy !== 'object' || policy.budget === null || typeof policy.budget !== 'object') {
    throw new InvalidInputError('identification policy: maxK, maxTauSquared and budget are required');
  }
  return {
    maxK: integerIn(policy.maxK, 1, POLICY_MAX_K, 'maxK'),
    maxTauSquared: integerIn(policy.maxTauSquared, 0, dist2Max, 'maxTauSquared'),
    budget: {
      queries: integerIn(policy.budget.queries, 1, POLICY_MAX_BUDGET_QUERIES, 'budget.queries'),
      windowSeconds: integerIn(policy.budget.windowSeconds, 1, POLICY_MAX_WINDOW_SECONDS, 'budget.windowSeconds'),
    },
  };
}

/** A policy with the defaults for what is not given (maxTauSquared is always the owner's choice). */
export function identificationPolicy(options: { maxTauSquared: number; maxK?: number; budget?: Partial<QueryBudget> }): IdentificationPolicy {
  return validatePolicy({
    maxK: options.maxK ?? DEFAULT_MAX_K,
    maxTauSquared: options.maxTauSquared,
    budget: { ...DEFAULT_QUERY_BUDGET, ...(options.budget ?? {}) },
  });
}

/**
 * Parses "100/1h" style budgets (queries per window; s, m, h, d units) for CLIs and
 * configuration. InvalidInputError on anything else.
 */
export function parseQueryBudget(text: string): QueryBudget {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*([smhd])\s*$/.exec(text);
  if (match === null) throw new InvalidInputError(`query budget "${text}" must look like 100/1h (queries per window; units s, m, h, d)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[match[3] as 's' | 'm' | 'h' | 'd'];
  const budget = { queries: Number(match[1]), windowSeconds: (match[2] === '' ? 1 : Number(match[2])) * unit };
  return validatePolicy({ maxK: 1, maxTauSquared: 0, budget }).budget;
}
