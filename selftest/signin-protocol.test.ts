// The sign-in side's protocol modules on hand-made inputs: the one Retry-After parser, the one Set-Cookie parser,
// THE cookie-flag rules and the get-session parser (real servers exercise them in the suite and the fault matrix).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cookieFlagProblems, identityOf, parseSession, setCookieFlagProblems } from '../helpers/better-auth.ts';
import { CookieJar, cookieHeaderFor, deletes, parseSetCookie, toStored, type StoredCookie } from '../helpers/cookies.ts';
import { parseRetryAfter, retryAfterMs } from '../helpers/retry-after.ts';

const now = Date.parse('2026-12-01T12:00:00Z');

test('Retry-After: delta-seconds, HTTP-date, Better Auth\'s X-Retry-After first, nonsense ignored', () => {
  assert.equal(parseRetryAfter('10', now), 10_000);
  assert.equal(parseRetryAfter(' 1.5 ', now), 1500);
  assert.equal(parseRetryAfter(['3', '9'], now), 3000);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 12:00:07 GMT', now), 7000);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 11:00:00 GMT', now), 0, 'a date in the past: no wait');
  for (const bad of ['', 'soon', '-1', '5 s', undefined, null]) assert.equal(parseRetryAfter(bad as string, now), undefined, String(bad));
  assert.equal(retryAfterMs({ 'x-retry-after': '4', 'retry-after': '9' }, now), 4000);
  assert.equal(retryAfterMs({ 'Retry-After': '2' }, now), 2000, 'header names in any case (Playwright keeps them lower-case, others may not)');
  assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Tue, 01 Dec 2026 12:00:03 GMT' }), now), 3000);
  assert.equal(retryAfterMs({}, now), undefined);
});

test('Set-Cookie: attributes, deletion, Max-Age over Expires, a browser\'s stored shape', () => {
  const c = parseSetCookie('__Secure-better-auth.session_token=abc.def; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax')!;
  assert.equal(c.name, '__Secure-better-auth.session_token');
  assert.equal(c.value, 'abc.def');
  assert.deepEqual([c.maxAgeS, c.path, c.httpOnly, c.secure, c.sameSite], [604800, '/', true, true, 'Lax']);
  const stored = toStored(c, 'https://app.test/api/auth/callback/zitadel', now);
  assert.deepEqual({ ...stored, value: '' }, { name: c.name, value: '', domain: 'app.test', path: '/', expires: now / 1000 + 604800, httpOnly: true, secure: true, sameSite: 'Lax' });
  const both = parseSetCookie('a=1; Expires=Tue, 01 Dec 2026 13:00:00 GMT; Max-Age=60')!;
  assert.equal(toStored(both, 'https://app.test/', now).expires, now / 1000 + 60, 'Max-Age wins over Expires');
  const session = toStored(parseSetCookie('a=1; Domain=.App.Test; SameSite=None')!, 'https://app.test/x/y', now);
  assert.deepEqual([session.expires, session.domain, session.path, session.sameSite], [-1, '.app.test', '/x', 'None']);
  assert.equal(toStored(parseSetCookie('a=1')!, 'https://app.test/', now).sameSite, 'Lax', 'no SameSite: browsers treat it as Lax');
  assert.equal(deletes(parseSetCookie('a=; Max-Age=0')!, now), true);
  assert.equal(deletes(parseSetCookie('a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT')!, now), true);
  assert.equal(deletes(parseSetCookie('a=1; Max-Age=10')!, now), false);
  assert.equal(parseSetCookie('=nameless'), undefined);
});

test('CookieJar applies answers in order and builds a Cookie header; cookieHeaderFor follows domain, path, Secure, expiry', () => {
  const jar = new CookieJar();
  jar.apply(['a=1; Path=/', 'b=2']);
  jar.apply('a=; Max-Age=0');
  assert.equal(jar.header(), 'b=2');
  assert.equal(jar.merged(new CookieJar([['c', '3']])).header(), 'b=2; c=3');
  const cookies: StoredCookie[] = [
    { name: 'host', value: '1', domain: 'app.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' },
    { name: 'old', value: '2', domain: 'app.test', path: '/', expires: now / 1000 - 1, httpOnly: true, secure: false, sameSite: 'Lax' },
    { name: 'api', value: '3', domain: 'app.test', path: '/api', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' },
  ];
  assert.equal(cookieHeaderFor(cookies, 'https://app.test/api/x', undefined, now / 1000), 'host=1; api=3');
  assert.equal(cookieHeaderFor(cookies, 'http://app.test/apix', undefined, now / 1000), '');
});

test('the cookie-flag rules name each weakness, and a strong session cookie passes', () => {
  const good: StoredCookie = { name: '__Secure-better-auth.session_token', value: 'x', domain: 'app.test', path: '/', expires: now / 1000 + 7 * 86400, httpOnly: true, secure: true, sameSite: 'Lax' };
  const rules = { appUrl: 'https://app.test', minLifetimeMs: 24 * 3_600_000, now };
  assert.deepEqual(cookieFlagProblems(good, rules), []);
  const cases: [Partial<StoredCookie>, RegExp][] = [
    [{ name: 'better-auth.session_token' }, /lacks the __Secure- prefix/],
    [{ secure: false }, /is not Secure/],
    [{ httpOnly: false }, /is not HttpOnly/],
    [{ sameSite: 'None' }, /SameSite=None \(expected Lax or Strict\)/],
    [{ domain: '.app.test' }, /whole domain \.app\.test/],
    [{ expires: -1 }, /no Max-Age\/Expires \(not persistent\)/],
    [{ expires: now / 1000 + 600 }, /expires in 10 min \(expected at least 24 h\)/],
  ];
  for (const [change, message] of cases) {
    const p = cookieFlagProblems({ ...good, ...change }, rules);
    assert.equal(p.length, 1, `${JSON.stringify(change)}: ${p.join('; ')}`);
    assert.match(p[0], message);
  }
  assert.deepEqual(cookieFlagProblems({ ...good, expires: -1 }, { appUrl: 'https://app.test', now }), [], 'no persistence rule without minLifetimeMs');
  assert.deepEqual(cookieFlagProblems({ ...good, name: 'better-auth.state', secure: false }, { appUrl: 'http://app.test', now }), [], 'over http neither Secure nor the prefix apply');
  assert.match(setCookieFlagProblems(parseSetCookie('__Secure-better-auth.session_token=x; Path=/; HttpOnly; Secure; SameSite=Lax')!, 'https://app.test/api/auth/callback/zitadel', rules).join(), /not persistent/);
});

test('get-session answers: ids and expiry kept, the token dropped; null and junk are "no session"', () => {
  const body = JSON.stringify({ session: { id: 's1', userId: 'u1', token: 'SECRET', expiresAt: '2026-12-08T12:00:00.000Z' }, user: { id: 'u1', name: 'Ada', email: 'a@x' } });
  const v = parseSession(200, body);
  assert.deepEqual(v, { status: 200, session: { id: 's1', userId: 'u1', expiresAt: Date.parse('2026-12-08T12:00:00Z') }, user: { id: 'u1', name: 'Ada', email: 'a@x' } });
  assert.ok(!JSON.stringify(v).includes('SECRET'));
  assert.deepEqual(parseSession(200, 'null'), { status: 200 });
  assert.deepEqual(parseSession(500, '<html>'), { status: 500 });
  assert.deepEqual(identityOf(200, body), { status: 200, sessionId: 's1', userId: 'u1', userName: 'Ada' });
});
