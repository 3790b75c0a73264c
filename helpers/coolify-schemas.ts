// The project's own schemas of every Coolify answer it relies on, written from Coolify's OpenAPI description
// (../shared/reference/coolify-openapi.paths.json) and the interface reference where the description is wrong
// (deployments/applications/<uuid> answers {count, deployments}; backups are "Content is very complex" there).
// Only the fields the suite reads are required; everything else passes through untouched, so a new Coolify
// field changes nothing, and a changed or missing field the suite needs fails with one line naming it.
import { z } from 'zod';

/** Coolify's error body (401 "Unauthenticated.", 403, 404, 405 "This endpoint has changed to a POST request.", 422). */
export const ErrorBody = z.looseObject({ message: z.string() });

/** POST /deploy → {deployments: [{message, resource_uuid, deployment_uuid}]}; compose services may omit the uuid. */
export const DeployAnswer = z.looseObject({
  deployments: z.array(z.looseObject({
    message: z.string(),
    resource_uuid: z.string(),
    deployment_uuid: z.string().min(1).optional(),
  })).min(1),
});

/** ApplicationDeploymentQueue: GET /deployments/<uuid>, items of GET /deployments and of the app history. */
export const DeploymentRecord = z.looseObject({
  deployment_uuid: z.string().min(1),
  status: z.string().min(1),
  commit: z.string().nullish(),
  rollback: z.boolean().nullish(),
  restart_only: z.boolean().nullish(),
  /** JSON text of the log entries ({output, type, timestamp, hidden, ...}[]), as Coolify stores it. */
  logs: z.string().nullish(),
  application_name: z.string().nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export const RunningDeployments = z.array(DeploymentRecord);
/** GET /deployments/applications/<uuid>: Coolify's code answers {count, deployments} (its OpenAPI text says an array). */
export const AppDeployments = z.looseObject({ count: z.number().int().nonnegative(), deployments: z.array(DeploymentRecord) });

/** POST /applications/<uuid>/restart and POST /applications/<uuid>/rollback → {message, deployment_uuid}. */
export const QueuedAnswer = z.looseObject({ message: z.string(), deployment_uuid: z.string().min(1) });

/** GET /applications/<uuid>/rollback-images → {current, images: [{tag, created_at, is_current}]}. */
export const RollbackImages = z.looseObject({
  current: z.string().nullable(),
  images: z.array(z.looseObject({ tag: z.string().min(1), created_at: z.string(), is_current: z.boolean() })),
});

/** One execution of a scheduled backup. Coolify stores `size` in bytes (some versions as a numeric string). */
export const BackupExecution = z.looseObject({
  uuid: z.string().min(1),
  status: z.string().min(1),
  created_at: z.string().min(1),
  filename: z.string().nullish(),
  size: z.union([z.number(), z.string().regex(/^\d+$/, 'is not a byte count')]).nullish(),
  message: z.string().nullish(),
});
/** GET /databases/<uuid>/backups/<backup uuid>/executions → {executions: [...]}, newest first. */
export const BackupExecutions = z.looseObject({ executions: z.array(BackupExecution) });

/** GET /databases/<uuid>/backups → the database's scheduled backups, each with its executions. */
export const BackupSchedules = z.array(z.looseObject({
  uuid: z.string().min(1),
  enabled: z.boolean(),
  frequency: z.string().min(1),
  save_s3: z.boolean().nullish(),
  database_backup_retention_amount_locally: z.number().int().nonnegative(),
  database_backup_retention_days_locally: z.number().int().nonnegative(),
  executions: z.array(BackupExecution).nullish(),
}));

/** GET /version → text such as "4.3.10" (release tags are v4.3.10, v4.4-rc.1; the OpenAPI example says "v4.0.0"). */
export const VersionText = z.string().regex(/^v?\d+\.\d+(\.\d+)?(-[0-9A-Za-z.-]+)?$/, 'is not a Coolify version (e.g. 4.3.10)');

export type DeployAnswerT = z.infer<typeof DeployAnswer>;
export type DeploymentRecordT = z.infer<typeof DeploymentRecord>;
export type RollbackImagesT = z.infer<typeof RollbackImages>;
export type BackupExecutionT = z.infer<typeof BackupExecution>;
export type BackupScheduleT = z.infer<typeof BackupSchedules>[number];

/** Every schema by the path (OpenAPI template) and method it describes: the stand-in's self-test walks this. */
export const SCHEMAS_BY_PATH = {
  'POST /deploy': DeployAnswer,
  'GET /deployments': RunningDeployments,
  'GET /deployments/{uuid}': DeploymentRecord,
  'GET /deployments/applications/{uuid}': AppDeployments,
  'POST /applications/{uuid}/restart': QueuedAnswer,
  'GET /applications/{uuid}/rollback-images': RollbackImages,
  'POST /applications/{uuid}/rollback': QueuedAnswer,
  'GET /databases/{uuid}/backups': BackupSchedules,
  'GET /databases/{uuid}/backups/{scheduled_backup_uuid}/executions': BackupExecutions,
  'GET /version': VersionText,
} as const;

/** The first problem of a failed parse as one line: "images.0.tag: expected string, received undefined". */
export function firstIssue(error: z.ZodError): string {
  const i = error.issues[0];
  if (!i) return 'does not match';
  const path = i.path.length ? i.path.map(String).join('.') : '(the whole answer)';
  return `${path}: ${i.message}`;
}
