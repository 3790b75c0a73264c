// Alert channels against a real local webhook receiver over HTTP: each channel's payload as that service reads
// it (Slack's `text`, Discord's `content`, ntfy's plain body with Title/Priority/Tags headers, plain JSON),
// retries with back-off on 5xx and connection errors, a permanent 4xx not hammered, Retry-After honoured, and no
// secret — the target's, or the webhook URL's own token — in anything that leaves.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { alertText, buildAlert, channelKind, channelLabel, deliver, type Alert } from '../helpers/monitor/alerts.ts';
import { REDACTED } from '../helpers/redact.ts';
import { Receiver } from './lib/webhook-receiver.ts';

const PASSWORD = 'Hunter2-sekrit-Aa1-';
const HOOK_TOKEN = 'XyZ987tokenpart';

function sampleAlert(): Alert {
  return buildAlert({
    kind: 'down',
    checks: [{
      id: 'infra › app.spec.ts › App health › GET / answers 2xx', title: 'App health › GET / answers 2xx', area: 'app', project: 'infra', status: 'down',
      // A check that (wrongly) put a password into its error: the alert must still not carry it.
      observed: `gadgetbot.stack.test: GET / answered 500; body mentioned password=${PASSWORD}`,
      problems: [`gadgetbot.stack.test: GET / answered 500 for admin:${PASSWORD}`],
      hint: { id: 'app-unhealthy', line: 'The app answers 5xx on / Fix: read the app logs' }, since: '2026-12-01T10:00:00.000Z',
    }],
  }, { round: 4, at: new Date('2026-12-01T10:01:00Z'), target: { name: 'embedded', url: 'https://gadgetbot.stack.test:8443' }, statusPage: 'http://127.0.0.1:9999/' });
}

describe('alert channels (real HTTP receiver)', () => {
  const rx = new Receiver();
  before(() => rx.start());
  after(() => rx.stop());

  test('channels are recognised by URL (host or path), or by an explicit prefix', () => {
    assert.equal(channelKind('https://hooks.slack.com/services/T01/B02/abc').kind, 'slack');
    assert.equal(channelKind('https://discord.com/api/webhooks/123/abc-def').kind, 'discord');
    assert.equal(channelKind('https://ntfy.sh/gadgetbot-alerts').kind, 'ntfy');
    assert.equal(channelKind('https://ntfy.example.org/ops').kind, 'ntfy');
    assert.equal(channelKind('https://example.org/hook').kind, 'json');
    assert.equal(channelKind('http://127.0.0.1:1/services/T01/B02/abc').kind, 'slack');
    assert.equal(channelKind('http://127.0.0.1:1/api/webhooks/42/tok').kind, 'discord');
    assert.deepEqual(channelKind('ntfy+http://127.0.0.1:1/topic'), { kind: 'ntfy', url: 'http://127.0.0.1:1/topic' });
    assert.equal(channelLabel(`https://hooks.slack.com/services/T01/B02/${HOOK_TOKEN}`), 'slack hooks.slack.com', 'a label names no token');
  });

  test('each channel gets its own payload, redacted', async () => {
    const a = sampleAlert();
    const secrets = [PASSWORD, HOOK_TOKEN];
    const entries = {
      slack: rx.url(`/services/T01/B02/${HOOK_TOKEN}`),
      discord: rx.url('/api/webhooks/42/disc-token'),
      ntfy: `ntfy+${rx.url('/gadgetbot-alerts')}`,
      json: rx.url('/generic'),
    };
    for (const e of Object.values(entries)) {
      const r = await deliver(e, a, { secrets, attempts: 1, baseMs: 10 });
      assert.ok(r.ok, `${r.channel}: ${JSON.stringify(r.attempts)}`);
    }
    const slack = JSON.parse(rx.of(`/services/T01/B02/${HOOK_TOKEN}`)[0].body);
    assert.match(slack.text, /^DOWN on embedded: App health › GET \/ answers 2xx \[infra\/app\]/);
    assert.match(slack.text, /likely cause: The app answers 5xx/);
    assert.match(slack.text, /status page: http:\/\/127\.0\.0\.1:9999\//);
    const discord = JSON.parse(rx.of('/api/webhooks/42/disc-token')[0].body);
    assert.ok(discord.content.length <= 2000, 'Discord caps content at 2000 characters');
    assert.deepEqual(discord.allowed_mentions, { parse: [] });
    const ntfy = rx.of('/gadgetbot-alerts')[0];
    assert.match(String(ntfy.headers.title), /^DOWN on embedded/);
    assert.equal(ntfy.headers.priority, '5');
    assert.equal(ntfy.headers.tags, 'rotating_light');
    assert.equal(ntfy.headers.click, 'http://127.0.0.1:9999/');
    assert.match(ntfy.body, /observed: gadgetbot\.stack\.test: GET \/ answered 500/);
    const json = JSON.parse(rx.of('/generic')[0].body);
    assert.equal(json.kind, 'down');
    assert.equal(json.checks[0].hint.id, 'app-unhealthy');
    assert.equal(json.target.name, 'embedded');
    for (const h of rx.hits) {
      const all = `${JSON.stringify(h.headers)}\n${h.body}`;
      assert.ok(!all.includes(PASSWORD), `${h.path}: the password left in an alert`);
      assert.ok(!h.body.includes(HOOK_TOKEN), `${h.path}: the webhook token left in an alert body`);
    }
    assert.ok(rx.hits.some((h) => h.body.includes(REDACTED)), 'the redaction marks where the secret was');
  });

  test('a receiver answering 500 gets every retry, spaced by the back-off; the delivery reports, never throws', async () => {
    rx.plan['/down500'] = [500, 500, 500, 500, 500];
    const r = await deliver(rx.url('/down500'), sampleAlert(), { secrets: [], attempts: 4, baseMs: 50 });
    assert.equal(r.ok, false);
    assert.deepEqual(r.attempts.map((x) => x.status), [500, 500, 500, 500]);
    const hits = rx.of('/down500');
    assert.equal(hits.length, 4);
    // Back-off doubles: gaps of at least 50, 100, 200 ms (timers run late, never early).
    const gaps = hits.slice(1).map((h, i) => h.at - hits[i].at);
    gaps.forEach((g, i) => assert.ok(g >= 50 * 2 ** i - 5, `gap ${i + 1} is ${g} ms, want ≥ ${50 * 2 ** i}`));
  });

  test('500, 500, then 200: delivered on the third attempt', async () => {
    rx.plan['/flaky'] = [500, 503];
    const r = await deliver(rx.url('/flaky'), sampleAlert(), { secrets: [], attempts: 4, baseMs: 20 });
    assert.equal(r.ok, true);
    assert.deepEqual(r.attempts.map((x) => x.status), [500, 503, 200]);
  });

  test('a 404 (revoked hook) is not retried; a 429 waits its Retry-After', async () => {
    rx.plan['/gone'] = [404];
    const gone = await deliver(rx.url('/gone'), sampleAlert(), { secrets: [], attempts: 4, baseMs: 10 });
    assert.deepEqual(gone.attempts.map((x) => x.status), [404]);
    rx.plan['/busy'] = [429];
    const busy = await deliver(rx.url('/busy'), sampleAlert(), { secrets: [], attempts: 3, baseMs: 10 });
    assert.ok(busy.ok);
    const hits = rx.of('/busy');
    assert.ok(hits[1].at - hits[0].at >= 990, `waited ${hits[1].at - hits[0].at} ms for Retry-After: 1`);
  });

  test('nothing listening: connection errors are retried and reported without the URL', async () => {
    const dead = `http://127.0.0.1:1/services/T01/B02/${HOOK_TOKEN}`;
    const r = await deliver(dead, sampleAlert(), { secrets: [dead, HOOK_TOKEN], attempts: 2, baseMs: 10 });
    assert.equal(r.ok, false);
    assert.equal(r.attempts.length, 2);
    assert.ok(r.attempts.every((x) => x.error && !x.error.includes(HOOK_TOKEN)), JSON.stringify(r.attempts));
  });

  test('the plain text names check, observation, hint, target and status page', () => {
    const text = alertText(sampleAlert());
    for (const want of ['App health › GET / answers 2xx', 'observed: gadgetbot.stack.test: GET / answered 500', 'likely cause: The app answers 5xx', 'target: embedded https://gadgetbot.stack.test:8443', 'status page: http://127.0.0.1:9999/']) {
      assert.ok(text.includes(want), `missing "${want}" in:\n${text}`);
    }
  });
});
