import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The account a request acts in. Every service module names ARNs with `ctx.accountId` and keeps its
 * resources in `ctx.state`; both read this, so a handler runs in the account that owns the resource
 * it addresses (the caller's own, or another account's when a resource policy lets the caller in),
 * without threading an account through every function. Timers and promises started by a request
 * inherit its account (AsyncLocalStorage follows them).
 */
const current = new AsyncLocalStorage<string>();

export function currentAccount(): string | undefined {
  return current.getStore();
}

export function inAccount<T>(account: string, fn: () => T): T {
  return current.run(account, fn);
}

export const ACCOUNT_ID = /^\d{12}$/;

/** The account an ARN names (`arn:aws:ecr:us-east-1:111111111111:repository/x` → 111111111111). */
export function arnAccount(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account && ACCOUNT_ID.test(account) ? account : undefined;
}
