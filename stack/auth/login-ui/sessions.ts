// The browser's Login V2 sessions: a signed cookie with (id, secret token) pairs, each checked against the
// database on use. Zitadel keeps several per browser (one per user), which the accounts screen lists.
import type pg from 'pg';
import {
  createLoginSession,
  terminateLoginSessions,
  userById,
  validLoginSessions,
  type LoginSession,
  type SessionRef,
  type UserRow,
} from '../db.ts';
import { SESSION_TTL } from '../provider.ts';
import type { Ctx } from '../types.ts';

const SESSIONS_COOKIE = 'sessions';
const MAX_SESSIONS = 10;

export interface Current {
  session: LoginSession;
  user: UserRow;
}

export interface BrowserSessions {
  /** Valid sessions of this browser, newest first, one per user. */
  current(ctx: Ctx): Promise<Current[]>;
  /** Starts a session for `user` (replacing this browser's older one of that user); returns its id. */
  remember(ctx: Ctx, user: UserRow): Promise<string>;
  /** Ends this browser's Login V2 sessions (called when the OIDC session ends at end_session). */
  end(ctx: Ctx): Promise<void>;
}

function readRefs(ctx: Ctx): SessionRef[] {
  const raw = ctx.cookies.get(SESSIONS_COOKIE, { signed: true });
  if (!raw) return [];
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((s): s is SessionRef => typeof s?.id === 'string' && typeof s?.token === 'string')
      .slice(0, MAX_SESSIONS);
  } catch {
    return [];
  }
}

function writeRefs(ctx: Ctx, refs: SessionRef[]): void {
  const opts = { signed: true, httpOnly: true, sameSite: 'lax' as const, path: '/', overwrite: true };
  if (!refs.length) {
    ctx.cookies.set(SESSIONS_COOKIE, null, opts);
    return;
  }
  const value = Buffer.from(JSON.stringify(refs.slice(0, MAX_SESSIONS))).toString('base64url');
  ctx.cookies.set(SESSIONS_COOKIE, value, { ...opts, maxAge: SESSION_TTL * 1000 });
}

export function browserSessions(pool: pg.Pool): BrowserSessions {
  async function current(ctx: Ctx): Promise<Current[]> {
    const valid = await validLoginSessions(pool, readRefs(ctx));
    const out: Current[] = [];
    for (const session of valid) {
      if (out.some((c) => c.user.id === session.userId)) continue;
      const user = await userById(pool, session.userId);
      if (user) out.push({ session, user });
    }
    return out;
  }

  async function remember(ctx: Ctx, user: UserRow): Promise<string> {
    const ref = await createLoginSession(pool, user.id, SESSION_TTL);
    const keep = (await current(ctx)).filter((c) => c.user.id !== user.id).map((c) => c.session.id);
    const refs = readRefs(ctx).filter((r) => keep.includes(r.id));
    writeRefs(ctx, [ref, ...refs]);
    return ref.id;
  }

  async function end(ctx: Ctx): Promise<void> {
    // The cookie goes synchronously: callers may not wait before the response is sent.
    const refs = readRefs(ctx);
    writeRefs(ctx, []);
    const valid = await validLoginSessions(pool, refs);
    await terminateLoginSessions(pool, valid.map((s) => s.id));
  }

  return { current, remember, end };
}
