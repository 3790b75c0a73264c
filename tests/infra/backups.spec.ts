// Database backups, as the plan promises them for both databases ("Daily at 2 AM, retention 7 days"), read from
// Coolify's API (read-only, ability "read"): per database an enabled schedule that runs at least daily, local
// retention of at least BACKUP_MIN_RETENTION days, and a newest finished execution that succeeded, is younger than
// BACKUP_MAX_AGE_HOURS and is not empty. Skipped with its reason when the database uuids are not configured.
import { test, expect } from '../../fixtures/test.ts';
import { runsPerDay, retentionDays, judgeExecutions } from '../../helpers/backups.ts';
import { secretsOf, type Target } from '../../helpers/config.ts';
import { coolifyFor, type BackupSchedule } from '../../helpers/coolify.ts';
import { warn } from '../../helpers/findings.ts';
import { EPIC, label } from '../../helpers/labels.ts';
import { redactText } from '../../helpers/redact.ts';

const DATABASES = [
  { name: 'gadgetbot-db', variable: 'COOLIFY_APP_DB_UUID', uuid: (t: Target) => t.coolify?.appDbUuid },
  { name: 'zitadel-db', variable: 'COOLIFY_AUTH_DB_UUID', uuid: (t: Target) => t.coolify?.authDbUuid },
] as const;

const cache = new Map<string, Promise<BackupSchedule[]>>();
let version: Promise<string> | undefined;
/** One read per database per worker: three checks judge the same answer. */
function schedulesOf(t: Target, uuid: string): Promise<BackupSchedule[]> {
  let p = cache.get(uuid);
  if (!p) cache.set(uuid, (p = coolifyFor(t).backups(uuid)));
  return p;
}

function describe(s: BackupSchedule): string {
  return `schedule ${s.uuid} (${s.enabled ? 'enabled' : 'disabled'}, "${s.frequency}", keeps ${s.retentionAmountLocally || 'unlimited'} backups / ${s.retentionDaysLocally || 'unlimited'} days locally)`;
}

for (const db of DATABASES) {
  test.describe(`Backups of ${db.name}`, () => {
    let schedules: BackupSchedule[] = [];
    test.beforeEach(async ({ target }) => {
      const uuid = db.uuid(target);
      test.skip(!uuid, `${db.variable} is not configured: the backups of ${db.name} are not checked (needs COOLIFY_TOKEN with "read" and the database's uuid)`);
      await label({ epic: EPIC.infra, feature: 'Backups', story: db.name, severity: 'critical', parameters: { database: db.name } });
      schedules = await schedulesOf(target, uuid!);
      version ??= coolifyFor(target).version().catch((e: Error) => `unknown (${e.message.split('\n')[0]})`);
      test.info().annotations.push({ type: 'coolify', description: `Coolify ${await version} at ${target.deployerUrl}` });
    });

    test(`${db.name}: an enabled backup schedule runs at least daily`, async () => {
      const daily = schedules.filter((s) => s.enabled && (runsPerDay(s.frequency) ?? 0) >= 1);
      expect(daily.length, `${db.name} has an enabled backup schedule running at least daily; Coolify lists ` +
        (schedules.length ? schedules.map(describe).join('; ') : 'no backup schedule at all (Coolify → the database → Backups)')).toBeGreaterThan(0);
    });

    test(`${db.name}: backups are kept at least BACKUP_MIN_RETENTION days`, async ({ target }) => {
      const min = target.backups.minRetentionDays;
      // Every schedule's own retention (a disabled one is judged by the schedule check, not here).
      const kept = schedules.map((s) => ({ s, days: retentionDays(s) }));
      const best = Math.max(0, ...kept.map((k) => k.days));
      expect(best, `${db.name} keeps backups at least ${min} days locally (BACKUP_MIN_RETENTION); ` +
        (kept.length ? kept.map((k) => `${describe(k.s)} keeps ${Number.isFinite(k.days) ? `${+k.days.toFixed(1)} days` : 'unlimited'}`).join('; ') : 'there is no schedule')).toBeGreaterThanOrEqual(min);
    });

    test(`${db.name}: the newest backup succeeded, is recent and not empty`, async ({ target }, info) => {
      const secrets = secretsOf(target);
      const redact = (s: string) => redactText(s, secrets);
      const uuid = db.uuid(target)!;
      // The schedules' embedded executions may be capped; the executions endpoint lists them all.
      const coolify = coolifyFor(target);
      const executions = (await Promise.all(schedules.map((s) => coolify.backupExecutions(uuid, s.uuid)))).flat();
      const v = judgeExecutions(executions, target.backups.maxAgeHours, redact);
      if (v.newest) {
        info.annotations.push({ type: 'backup', description: `${db.name}: newest ${v.newest.status} at ${v.newest.createdAt}, ${v.newest.size ?? '?'} bytes, ${v.newest.filename ?? 'no file'}` });
      }
      expect(v.problem, `${db.name}: the newest finished backup succeeded, is younger than ${target.backups.maxAgeHours} h and not empty`).toBeUndefined();
      if (v.failures.length) {
        warn(`${db.name}: ${v.failures.length} earlier backup execution(s) failed, e.g. ${v.failures[0].createdAt}: ${redact(v.failures[0].message ?? 'no message').slice(0, 200)}`);
      }
    });
  });
}
