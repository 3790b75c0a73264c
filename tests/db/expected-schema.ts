// The app database as the reference deployment defines it (drizzle migrations of the GadgetBot app,
// Better Auth tables with plural names). Types are written as PostgreSQL's format_type() prints them;
// defaults without their ::type cast.
import type { ExpectedTable } from '../../helpers/db.ts';

const text = (nullable = false) => ({ type: 'text', nullable, default: null });
const ts = (nullable = false, dflt: string | null = null) => ({ type: 'timestamp without time zone', nullable, default: dflt });
const cascadeToUsers = { columns: ['user_id'], refTable: 'users', refColumns: ['id'], onDelete: 'cascade' as const };

export const EXPECTED_TABLES: Record<string, ExpectedTable> = {
  gadgetbots: {
    columns: {
      id: { type: 'uuid', nullable: false, default: 'gen_random_uuid()' },
      name: text(),
      type: text(),
      status: { type: 'text', nullable: false, default: "'available'" },
      description: text(),
      battery_life: { type: 'real', nullable: false, default: null },
      max_load_capacity: { type: 'real', nullable: false, default: null },
      features: { type: 'text[]', nullable: false, default: "'{}'" },
      image_url: text(true),
      created_at: { type: 'timestamp with time zone', nullable: false, default: 'now()' },
      updated_at: { type: 'timestamp with time zone', nullable: false, default: 'now()' },
    },
    primaryKey: ['id'],
  },
  users: {
    columns: {
      id: text(), name: text(), email: text(),
      email_verified: { type: 'boolean', nullable: false, default: 'false' },
      image: text(true),
      created_at: ts(false, 'now()'), updated_at: ts(false, 'now()'),
    },
    primaryKey: ['id'],
    unique: [['email']],
  },
  sessions: {
    columns: {
      id: text(), expires_at: ts(), token: text(),
      created_at: ts(false, 'now()'), updated_at: ts(false, 'now()'),
      ip_address: text(true), user_agent: text(true), user_id: text(),
    },
    primaryKey: ['id'],
    unique: [['token']],
    foreignKeys: [cascadeToUsers],
  },
  accounts: {
    columns: {
      id: text(), account_id: text(), provider_id: text(), user_id: text(),
      access_token: text(true), refresh_token: text(true), id_token: text(true),
      access_token_expires_at: ts(true), refresh_token_expires_at: ts(true),
      scope: text(true), password: text(true),
      created_at: ts(false, 'now()'), updated_at: ts(false, 'now()'),
    },
    primaryKey: ['id'],
    foreignKeys: [cascadeToUsers],
  },
  verifications: {
    columns: {
      id: text(), identifier: text(), value: text(), expires_at: ts(),
      created_at: ts(false, 'now()'), updated_at: ts(false, 'now()'),
    },
    primaryKey: ['id'],
  },
};

/** drizzle's journal of the app: two migrations. */
export const EXPECTED_MIGRATIONS = 2;
export const EXPECTED_PG_MAJOR = 17;

/** The tables each migration creates, in journal order: a recorded migration whose tables are missing was not applied. */
export const EXPECTED_MIGRATION_TABLES: string[][] = [
  ['gadgetbots'],
  ['users', 'sessions', 'accounts', 'verifications'],
];
