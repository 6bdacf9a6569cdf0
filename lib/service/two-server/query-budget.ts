/**
 * Per-user identification budgets: every user may make `queries` identifications per window of
 * `windowSeconds` on an index (the owner sets both in the index's policy). Windows are fixed
 * and aligned to the epoch, so every execution environment agrees on them without talking to
 * each other, and one DynamoDB counter per (user, index, window) is incremented atomically and
 * conditionally (QueryBudgetStore). Fixed windows allow up to twice the budget across a window
 * boundary; the threat model counts that.
 *
 * Owners are not counted: they hold the templates.
 */
import { TooManyRequestsError } from '../../core/errors';
import type { QueryBudget } from '../../twoserver/policy';
import type { QueryBudgetKey, QueryBudgetStore } from '../../storage/types';
import type { IndexName, OwnerId, UserId } from '../../core/ids';

/** What a caller learns of its budget after a counted query. */
export interface BudgetState {
  readonly limit: number;
  readonly remaining: number;
  /** ISO 8601: when the window ends and the budget is whole again. */
  readonly resetsAt: string;
}

export interface BudgetCharge {
  readonly state: BudgetState;
  /** Gives the query back (the service failed to answer it). Idempotent, never throws. */
  refund(): Promise<void>;
}

export function windowOf(budget: QueryBudget, now: Date): { start: number; end: number } {
  const seconds = Math.floor(now.getTime() / 1000);
  const start = seconds - (seconds % budget.windowSeconds);
  return { start, end: start + budget.windowSeconds };
}

function describeWindow(seconds: number): string {
  if (seconds % 86400 === 0) return seconds === 86400 ? 'day' : `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? 'minute' : `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

export class QueryBudgets {
  constructor(
    private readonly store: QueryBudgetStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Counts one identification of `userId` on the index, or throws TooManyRequestsError
   * (429, Retry-After = the rest of the window) when the window's budget is spent.
   */
  async charge(ownerId: OwnerId, userId: UserId, indexName: IndexName, budget: QueryBudget): Promise<BudgetCharge> {
    const now = this.now();
    const window = windowOf(budget, now);
    const key: QueryBudgetKey = { ownerId, userId, indexName, windowStart: window.start };
    // Kept a window past its end, so a late refund still finds it; DynamoDB's TTL removes it.
    const use = await this.store.consume(key, budget.queries, new Date((window.end + budget.windowSeconds) * 1000));
    const resetsAt = new Date(window.end * 1000).toISOString();
    const wait = window.end - now.getTime() / 1000;
    if (!use.allowed) {
      throw new TooManyRequestsError(
        `identification budget spent: ${budget.queries} per ${describeWindow(budget.windowSeconds)} on index "${indexName}" (set by its owner); ` +
          `it renews at ${resetsAt}`,
        wait,
      );
    }
    let refunded = false;
    return {
      state: { limit: budget.queries, remaining: Math.max(0, budget.queries - use.used), resetsAt },
      refund: async () => {
        if (refunded) return;
        refunded = true;
        await this.store.refund(key).catch(() => undefined);
      },
    };
  }
}
