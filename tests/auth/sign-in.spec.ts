// The sign-in journey as the setup project recorded it, once per role (fixtures/journey.ts): the URL sequence
// app → Zitadel Login V2 → app, and the session cookies exactly as the callback set them. Judged from the
// recording: no sign-in is spent here (Better Auth allows 3 per 10 s per client IP), and every role is judged.
import { expectNone } from '../../fixtures/observed.ts';
import { test } from '../../fixtures/test.ts';
import { loginV2Hops, missingHop, recordedCookieProblems, recordedJourneys, sessionTokenSet } from '../../fixtures/journey.ts';
import { isSessionTokenCookie } from '../../helpers/better-auth.ts';
import { EPIC, label } from '../../helpers/labels.ts';

test.describe.configure({ mode: 'parallel' });

test('every role\'s sign-in went app /login → authorize → Login V2 loginname → password → callback → /admin', { tag: '@smoke' }, async ({ target }, info) => {
  await label({ epic: EPIC.auth, feature: 'Sign-in', story: 'Login V2 URL sequence', severity: 'critical' });
  const { found, missing } = recordedJourneys(target);
  const problems = [...missing];
  for (const j of found) {
    const gap = missingHop(j.urls, loginV2Hops(target.appUrl, target.authUrl));
    if (gap) problems.push(`${j.role}: ${gap}`);
    if (j.path !== 'password') problems.push(`${j.role}: a browser with no auth session was let through without the password step (Login V2 path: ${j.path ?? 'unknown'})`);
    info.annotations.push({ type: `${j.role} sign-in`, description: j.urls.map((u) => new URL(u).pathname).join(' → ') });
  }
  await expectNone('each role\'s recorded sign-in follows the Login V2 URL sequence and asks for the password', problems);
});

test('the session cookie the callback sets is persistent, __Secure-, Secure, HttpOnly, SameSite Lax/Strict and host-only, for every role',
  { tag: '@smoke' }, async ({ target }, info) => {
    await label({ epic: EPIC.auth, feature: 'Session', story: 'session cookie strength', severity: 'critical' });
    const { found, missing } = recordedJourneys(target);
    const problems = [...missing];
    const minMs = target.sessionMinHours * 3_600_000;
    for (const j of found) {
      const token = sessionTokenSet(j);
      if (!token) { problems.push(`${j.role}: the callback set no better-auth.session_token cookie (cookies it set: ${j.sessionCookies.map((c) => c.name).join(', ') || 'none'})`); continue; }
      // The token must outlive SESSION_MIN_HOURS; the signed 5-minute cache (session_data) only needs the flags.
      for (const c of j.sessionCookies) problems.push(...recordedCookieProblems(c, target.appUrl, isSessionTokenCookie(c.name) ? minMs : undefined, Date.parse(j.recordedAt)).map((p) => `${j.role}: ${p}`));
      info.annotations.push({ type: `${j.role} session cookie`, description: `${token.name}; ${token.attributes.join(', ')}` });
    }
    await expectNone(`every role's session cookie is persistent (at least SESSION_MIN_HOURS = ${target.sessionMinHours} h), __Secure- prefixed, Secure, HttpOnly, SameSite Lax/Strict and host-only`, problems);
  });
