// The one Set-Cookie parser (RFC 6265 §5.2, the parts a browser applies) and the one "which cookies would a browser
// send to this URL" rule. Cookies set over HTTP (undici answers) and cookies a browser stored (Playwright's storage
// state) are brought to the same shape, StoredCookie, so the flag rules (helpers/better-auth.ts) are written once.

export interface StoredCookie {
  name: string; value: string; domain: string; path: string;
  /** Unix seconds; -1 for a session cookie (no Max-Age/Expires): Playwright's convention. */
  expires: number;
  httpOnly: boolean; secure: boolean; sameSite: 'Strict' | 'Lax' | 'None';
}

export interface SetCookie {
  name: string; value: string;
  /** Attributes as sent (names lower-cased), for what the flags below do not cover. */
  attributes: Record<string, string>;
  maxAgeS?: number;
  expiresAt?: number;
  domain?: string;
  path?: string;
  secure: boolean;
  httpOnly: boolean;
  /** As sent; undefined when absent (a browser then treats it as Lax). */
  sameSite?: string;
}

/** One Set-Cookie header line. Undefined for a line without a cookie name. */
export function parseSetCookie(line: string): SetCookie | undefined {
  const [pair = '', ...attrs] = line.split(';');
  const eq = pair.indexOf('=');
  const name = (eq < 0 ? '' : pair.slice(0, eq)).trim();
  if (!name) return undefined;
  const out: SetCookie = { name, value: pair.slice(eq + 1).trim(), attributes: {}, secure: false, httpOnly: false };
  for (const a of attrs) {
    const i = a.indexOf('=');
    const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
    const v = i < 0 ? '' : a.slice(i + 1).trim();
    if (!k) continue;
    out.attributes[k] = v;
    if (k === 'max-age' && /^-?\d+$/.test(v)) out.maxAgeS = Number(v);
    else if (k === 'expires') { const at = Date.parse(v); if (!Number.isNaN(at)) out.expiresAt = at; }
    else if (k === 'domain' && v) out.domain = v.replace(/^\./, '').toLowerCase();
    else if (k === 'path' && v.startsWith('/')) out.path = v;
    else if (k === 'secure') out.secure = true;
    else if (k === 'httponly') out.httpOnly = true;
    else if (k === 'samesite') out.sameSite = v;
  }
  return out;
}

/** Every parsable Set-Cookie of a header list (undici gives `string | string[]`). */
export function parseSetCookies(lines: string | string[] | undefined): SetCookie[] {
  const list = lines === undefined ? [] : Array.isArray(lines) ? lines : [lines];
  return list.map(parseSetCookie).filter((c): c is SetCookie => !!c);
}

/** Does this Set-Cookie delete the cookie (empty value, Max-Age ≤ 0, or an Expires in the past)? */
export function deletes(c: SetCookie, now = Date.now()): boolean {
  if (c.maxAgeS !== undefined) return c.maxAgeS <= 0 || !c.value;
  return !c.value || (c.expiresAt !== undefined && c.expiresAt <= now);
}

/** The cookie as a browser stores it for a response from `requestUrl` (Max-Age wins over Expires, as in RFC 6265). */
export function toStored(c: SetCookie, requestUrl: string, now = Date.now()): StoredCookie {
  const u = new URL(requestUrl);
  const expiresMs = c.maxAgeS !== undefined ? now + c.maxAgeS * 1000 : c.expiresAt;
  const dir = u.pathname.slice(0, u.pathname.lastIndexOf('/')) || '/';
  const s = (c.sameSite ?? 'Lax').toLowerCase();
  return {
    name: c.name, value: c.value,
    // A Domain attribute makes the cookie go to every subdomain: Playwright marks that with a leading dot.
    domain: c.domain ? `.${c.domain}` : u.hostname,
    path: c.path ?? dir,
    expires: expiresMs === undefined ? -1 : expiresMs / 1000,
    httpOnly: c.httpOnly, secure: c.secure,
    sameSite: s === 'strict' ? 'Strict' : s === 'none' ? 'None' : 'Lax',
  };
}

/**
 * A cookie jar for HTTP-level journeys (name → value per cookie, one host): apply each answer's Set-Cookie,
 * send `header()`. Enough for one app origin; StoredCookie lists and cookieHeaderFor cover several hosts.
 */
export class CookieJar {
  readonly #values = new Map<string, string>();

  constructor(initial?: Iterable<[string, string]>) {
    for (const [k, v] of initial ?? []) this.#values.set(k, v);
  }

  /** Applies the Set-Cookie lines of an answer; returns the cookies it set (deletions excluded). */
  apply(setCookie: string | string[] | undefined, now = Date.now()): SetCookie[] {
    const set: SetCookie[] = [];
    for (const c of parseSetCookies(setCookie)) {
      if (deletes(c, now)) this.#values.delete(c.name);
      else { this.#values.set(c.name, c.value); set.push(c); }
    }
    return set;
  }

  names(): string[] { return [...this.#values.keys()]; }
  has(name: string): boolean { return this.#values.has(name); }
  /** A copy, optionally only the named cookies. */
  pick(only?: (name: string) => boolean): CookieJar {
    return new CookieJar([...this.#values].filter(([k]) => !only || only(k)));
  }
  merged(other: CookieJar): CookieJar {
    return new CookieJar([...this.#values, ...other.#values]);
  }
  header(): string {
    return [...this.#values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * A Cookie header for `url` built from stored cookies, as a browser would send it (domain, path, Secure,
 * expiry). `only` keeps just the named cookies.
 */
export function cookieHeaderFor(cookies: StoredCookie[], url: string, only?: (name: string) => boolean, now = Date.now() / 1000): string {
  const u = new URL(url);
  return cookies
    .filter((c) => {
      const d = c.domain.replace(/^\./, '');
      const domainOk = u.hostname === d || (c.domain.startsWith('.') && u.hostname.endsWith(`.${d}`));
      const pathOk = u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/';
      const secureOk = !c.secure || u.protocol === 'https:';
      const alive = c.expires === -1 || c.expires > now;
      return domainOk && pathOk && secureOk && alive && (!only || only(c.name));
    })
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}
