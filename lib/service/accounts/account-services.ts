/**
 * CS1's account services (the token authorizer, owner and user registration), wired to the
 * process's registries. Apart from cs1-services.ts because they need only the DynamoDB table:
 * the authorizer, which runs before every route's first request, and the account routes load
 * neither the S3 client nor the index code.
 */
import { createCs1Tables } from '../../storage/cs1-tables';
import { OwnerService } from './owners';
import { TokenAuthorizer } from './token-authorizer';
import type { Cs1Stores } from '../types';

export interface AccountServices {
  readonly authorizer: TokenAuthorizer;
  readonly owners: OwnerService;
}

/** Account services on `stores`; `now` is the clock (tests). */
export function createAccountServices(stores: Pick<Cs1Stores, 'owners' | 'users'>, now: () => Date = () => new Date()): AccountServices {
  return {
    authorizer: new TokenAuthorizer(stores.owners, stores.users, { now }),
    owners: new OwnerService(stores.owners, stores.users, now),
  };
}

let processAccounts: AccountServices | undefined;

/** The account services of this process, on the configured table (built on first use). */
export function accountServices(): AccountServices {
  processAccounts ??= createAccountServices(createCs1Tables());
  return processAccounts;
}

/**
 * Forgets the process's account services (tests that change the environment).
 * @internal Only tests call it: a function's process keeps these (and the authorizer's caches)
 * for its lifetime, and a test suite that sets other variables between cases must drop them.
 */
export function resetAccountServices(): void {
  processAccounts = undefined;
}
