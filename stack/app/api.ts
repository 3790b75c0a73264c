// GadgetBot data access and the oRPC router (`/api/rpc/gadgetbots/*`, RPC wire format).
// Differs from today's real app on purpose: no session → 401 (not a 500), and writes need the admin role.
import { ORPCError, ValidationError, onError, os } from '@orpc/server';
import { RPCHandler } from '@orpc/server/fetch';
import type pg from 'pg';
import * as z from 'zod';
import { BOT_SPECS, BOT_TYPES, type BotStatus, type BotType } from './specs.ts';

export interface GadgetBot {
  id: string;
  name: string;
  type: BotType;
  status: BotStatus;
  description: string;
  batteryLife: number;
  maxLoadCapacity: number;
  features: string[];
  imageUrl?: string;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: string;
  name: string;
  type: string;
  status: string;
  description: string;
  battery_life: number;
  max_load_capacity: number;
  features: string[];
  image_url: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, name, type, status, description, battery_life, max_load_capacity, features, image_url, created_at, updated_at';

function toModel(r: Row): GadgetBot {
  const bot: GadgetBot = {
    id: r.id,
    name: r.name,
    type: r.type as BotType,
    status: r.status as BotStatus,
    description: r.description,
    batteryLife: Number(r.battery_life),
    maxLoadCapacity: Number(r.max_load_capacity),
    features: [...(r.features ?? [])],
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
  if (r.image_url !== null) bot.imageUrl = r.image_url;
  return bot;
}

/** The finite numbers among `keys` of what a caller sent. */
function numbersOf(input: Record<string, unknown>, keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.flatMap((k) => (typeof input[k] === 'number' && Number.isFinite(input[k]) ? [[k, input[k]]] : [])));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class GadgetBots {
  /** When this app process started serving (fault `list-snapshot`). */
  private readonly startedAt = Date.now();
  /** Fault `list-keeps-deleted`: rows the products page still shows after their delete. */
  private readonly deletedButCached = new Map<string, GadgetBot>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly faults: ReadonlySet<string>,
  ) {}

  async list(): Promise<GadgetBot[]> {
    // Fault `list-skips-newest`: a page offset counted from 1 instead of 0 drops the first (newest) row.
    const offset = this.faults.has('list-skips-newest') ? ' OFFSET 1' : '';
    const r = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM gadgetbots ORDER BY created_at DESC, id${offset}`);
    return r.rows.map(toModel);
  }

  /** What the products page shows: the list, as the page's own faults bend it. */
  async listForPage(): Promise<GadgetBot[]> {
    let bots = await this.list();
    // Fault `list-snapshot`: a stale list, as a cache filled at start would serve.
    if (this.faults.has('list-snapshot')) bots = bots.filter((b) => Date.parse(b.createdAt) <= this.startedAt);
    // Fault `list-omits-type`: a type filter left on by default.
    if (this.faults.has('list-omits-type')) bots = bots.filter((b) => b.type !== 'security');
    if (this.faults.has('list-keeps-deleted')) bots = [...bots, ...this.deletedButCached.values()];
    return bots;
  }

  async findById(id: string): Promise<GadgetBot | null> {
    if (!UUID.test(id)) return null; // not a uuid: cannot exist, and must not reach Postgres as a cast error
    const r = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM gadgetbots WHERE id = $1`, [id]);
    return r.rows[0] ? toModel(r.rows[0]) : null;
  }

  /** `input` is what the caller sent, unknown keys included: only name and type count (fault `create-takes-specs` aside). */
  async create(input: { name: string; type: BotType } & Record<string, unknown>): Promise<GadgetBot> {
    // Fault `create-wrong-type`: the type falls back to the first one; `create-wrong-specs`: the specs are looked
    // up one type off (the type is right, its hours and kilograms are another type's).
    const type: BotType = this.faults.has('create-wrong-type') ? BOT_TYPES[0] : input.type;
    const specsOf = this.faults.has('create-wrong-specs') ? BOT_TYPES[(BOT_TYPES.indexOf(type) + BOT_TYPES.length - 1) % BOT_TYPES.length]! : type;
    // Fault `create-takes-specs`: the caller's own numbers override the type's specs (a spread of the input).
    const taken = this.faults.has('create-takes-specs') ? numbersOf(input, ['batteryLife', 'maxLoadCapacity']) : {};
    const s = { ...BOT_SPECS[specsOf], type, ...taken };
    const r = await this.pool.query<Row>(
      `INSERT INTO gadgetbots (name, type, description, battery_life, max_load_capacity, features, image_url)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [input.name, s.type, s.description, s.batteryLife, s.maxLoadCapacity, [...s.features], s.imageUrl],
    );
    return toModel(r.rows[0]!);
  }

  /** `data` is what the caller sent, unknown keys included: only battery life counts (fault `update-writes-any-field` aside). */
  async update(id: string, data: { batteryLife?: number } & Record<string, unknown>): Promise<GadgetBot | null> {
    if (!UUID.test(id)) return null;
    if (this.faults.has('update-writes-any-field')) return this.updateAnyField(id, data);
    if (this.faults.has('update-not-saved')) {
      // Fault: the answer shows the change, the database never gets it.
      const now = await this.findById(id);
      return now && { ...now, batteryLife: data.batteryLife ?? now.batteryLife };
    }
    // Fault `update-wrong-field`: the value lands in the neighbouring column.
    const column = this.faults.has('update-wrong-field') ? 'max_load_capacity' : 'battery_life';
    const r = await this.pool.query<Row>(
      `UPDATE gadgetbots SET ${column} = COALESCE($2, ${column}), updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, data.batteryLife ?? null],
    );
    return r.rows[0] ? toModel(r.rows[0]) : null;
  }

  /** Fault `update-writes-any-field`: every column the caller names is written (a spread of the input into the row). */
  private async updateAnyField(id: string, data: Record<string, unknown>): Promise<GadgetBot | null> {
    const columns: Record<string, string> = { name: 'name', type: 'type', status: 'status', batteryLife: 'battery_life', maxLoadCapacity: 'max_load_capacity' };
    const set = Object.keys(columns).filter((k) => data[k] !== undefined);
    const r = await this.pool.query<Row>(
      `UPDATE gadgetbots SET ${set.map((k, i) => `${columns[k]} = $${i + 2}, `).join('')}updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, ...set.map((k) => data[k])],
    );
    return r.rows[0] ? toModel(r.rows[0]) : null;
  }

  async deleteById(id: string): Promise<GadgetBot | null> {
    if (!UUID.test(id)) return null;
    // Fault `delete-keeps-row`: answer as if deleted, keep the row.
    const sql = this.faults.has('delete-keeps-row')
      ? `SELECT ${COLUMNS} FROM gadgetbots WHERE id = $1`
      : `DELETE FROM gadgetbots WHERE id = $1 RETURNING ${COLUMNS}`;
    const r = await this.pool.query<Row>(sql, [id]);
    const gone = r.rows[0] ? toModel(r.rows[0]) : null;
    if (gone && this.faults.has('list-keeps-deleted')) this.deletedButCached.set(gone.id, gone);
    return gone;
  }
}

export interface RpcContext {
  user: { id: string; name: string; email: string } | null;
  isAdmin: () => Promise<boolean>;
}

const notFound = (id: string) => new ORPCError('NOT_FOUND', { message: `GadgetBot ${id} not found` });

export function createRouter(bots: GadgetBots, faults: ReadonlySet<string>) {
  const base = os.$context<RpcContext>();
  // The faults are read per request (the stack switches them while the app runs), so the chains decide inside.
  const sessionCheck = (open: () => boolean) => base.use(async ({ context, next }) => {
    // Fault `no-session-check`: reads answer anonymous callers too (writes still need the admin role).
    if (!context.user && !open() && !faults.has('no-session-check')) throw new ORPCError('UNAUTHORIZED', { message: 'You must be signed in' });
    return next();
  });
  const signedIn = sessionCheck(() => false);
  const adminCheck = (skip: () => boolean) => signedIn.use(async ({ context, next }) => {
    // Fault `no-admin-check`: today's real app, where any signed-in user may write.
    if (!skip() && !faults.has('no-admin-check') && !(await context.isAdmin())) {
      throw new ORPCError('FORBIDDEN', { message: 'Admin role required' });
    }
    return next();
  });
  const admin = adminCheck(() => false);
  // Fault `admin-check-create-only`: update and delete were left on the signed-in chain.
  const writer = adminCheck(() => faults.has('admin-check-create-only'));
  // Fault `anon-list-answers`: list was moved to the public chain (as if for the home page).
  const lister = sessionCheck(() => faults.has('anon-list-answers'));
  const idInput = z.object({ id: z.string().min(1, 'id must not be empty') });

  return {
    gadgetbots: {
      new: signedIn.handler(() => ({ template: { name: '', type: undefined as BotType | undefined }, specs: BOT_SPECS })),
      list: lister.input(z.object({})).handler(() => bots.list()),
      getById: signedIn.input(idInput).handler(async ({ input }) => (await bots.findById(input.id)) ?? Promise.reject(notFound(input.id))),
      // Loose objects: unknown keys reach the handlers, which ignore them (as the real app's schemas drop them),
      // so that the faults above can take them instead.
      create: admin
        .input(
          z.looseObject({
            name: z.string().trim().min(1, 'Name must not be empty').max(200, 'Name must be at most 200 characters'),
            type: z.enum(BOT_TYPES, { message: `Type must be one of ${BOT_TYPES.join(', ')}` }),
          }),
        )
        .handler(({ input }) => bots.create(input)),
      update: writer
        .input(
          idInput.extend({
            data: z.looseObject({
              batteryLife: z.number().finite().gt(0, 'Battery life must be greater than 0').max(10_000).optional(),
            }),
          }),
        )
        .handler(async ({ input }) => (await bots.update(input.id, input.data)) ?? Promise.reject(notFound(input.id))),
      deleteById: writer
        .input(idInput)
        .handler(async ({ input }) => (await bots.deleteById(input.id)) ?? Promise.reject(notFound(input.id))),
    },
  };
}

export function createRpcHandler(router: ReturnType<typeof createRouter>, log: (e: Record<string, unknown>) => void) {
  return new RPCHandler(router, {
    clientInterceptors: [
      onError((error) => {
        // Say what was wrong with the input instead of oRPC's generic "Input validation failed".
        if (error instanceof ORPCError && error.code === 'BAD_REQUEST' && error.cause instanceof ValidationError) {
          const issues = error.cause.issues.map((i) => {
            const path = (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
            return path ? `${path}: ${i.message}` : i.message;
          });
          throw new ORPCError('BAD_REQUEST', { message: issues.join('; ') || error.message, data: { issues }, cause: error.cause });
        }
        if (!(error instanceof ORPCError)) {
          log({ event: 'rpc-error', message: error instanceof Error ? error.message.slice(0, 300) : String(error) });
        }
      }),
    ],
  });
}
