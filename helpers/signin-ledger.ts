// What the sign-in rate limit costs a run (Better Auth: 3 sign-in requests per 10 s per client IP in production).
// Every sign-in request the suite makes and every wait for a 429 is appended as one JSON line to the file named by
// GBV_SIGNIN_LEDGER (set by the suite benchmark); without it nothing is written.
import { appendFileSync } from 'node:fs';

export type LedgerEntry =
  | { kind: 'sign-in'; what: string; at: number }
  | { kind: 'rate-limit-wait'; what: string; ms: number; at: number };

function write(entry: LedgerEntry): void {
  const file = process.env.GBV_SIGNIN_LEDGER?.trim();
  if (file) appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** One request to a rate-limited sign-in endpoint (`/api/auth/sign-in/*`), by the API or a browser. */
export function noteSignInRequest(what: string): void {
  write({ kind: 'sign-in', what, at: Date.now() });
}

/** Time spent waiting because a sign-in request answered 429. */
export function noteRateLimitWait(what: string, ms: number): void {
  write({ kind: 'rate-limit-wait', what, ms: Math.round(ms), at: Date.now() });
}
