// The one reading of "how long does the server want me to wait" after a 429 (or a 503): RFC 9110 Retry-After
// (delta-seconds or an HTTP-date) and Better Auth's own X-Retry-After (whole seconds; Better Auth sends no
// Retry-After). Every caller that waits on a 429 (helpers/http.ts, helpers/probe.ts, helpers/coolify.ts, the
// browser sign-in in fixtures/pages/flows.ts) asks here.

/** A header bag as undici (`string | string[]`), Playwright (`Record<string, string>`) or fetch (`Headers`) give it. */
export type HeaderBag = Record<string, string | string[] | undefined> | { get(name: string): string | null };

/** One header value in ms to wait: delta-seconds ("10", "1.5") or an HTTP-date; unparseable or empty → undefined. */
export function parseRetryAfter(value: string | string[] | undefined | null, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // Only something that looks like a date: Date.parse would read "5 s" or "-1" as some year.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function get(headers: HeaderBag, name: string): string | string[] | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : bag[key];
}

/**
 * Ms to wait according to a response's headers: Better Auth's X-Retry-After first (it is the one Better Auth
 * sets), then Retry-After. Undefined when neither says anything usable: the caller picks its own default.
 */
export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  return parseRetryAfter(get(headers, 'x-retry-after'), now) ?? parseRetryAfter(get(headers, 'retry-after'), now);
}
