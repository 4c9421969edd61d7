/**
 * What the client integration tests share: a recorder of one subscriber's statuses and deliveries,
 * a bounded wait, and a way to create a tagged assignment the way the app does (straight into the
 * target's database, so subscriber tests do not depend on the publisher under test elsewhere).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type {
  ClientKind,
  Delivery,
  RealtimePath,
  StatusChange,
  SubscriberConfig,
  SubscriberHandlers,
} from '../../src/realtime/index.js';
import { systemClock } from '../../src/shared/index.js';

export interface Recorder extends SubscriberHandlers {
  readonly statuses: StatusChange[];
  readonly deliveries: Delivery[];
  /** Statuses of one channel as `STATUS` or `STATUS:reason`, in order. */
  trail(channel: RealtimePath): string[];
}

export function createRecorder(): Recorder {
  const statuses: StatusChange[] = [];
  const deliveries: Delivery[] = [];
  return {
    statuses,
    deliveries,
    onStatus: (change) => statuses.push(change),
    onDelivery: (delivery) => deliveries.push(delivery),
    trail: (channel) =>
      statuses
        .filter((change) => change.channel === channel)
        .map((change) => (change.reason ? `${change.status}:${change.reason}` : change.status)),
  };
}

/** Polls `condition` every 20 ms; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function subscribedOn(recorder: Recorder, paths: RealtimePath[]): () => boolean {
  return () => paths.every((path) => recorder.trail(path).at(-1) === 'SUBSCRIBED');
}

export interface SubscriberSetup {
  url: string;
  anonKey: string;
  token: string;
  broadcastChannel: string;
  kind: ClientKind;
  paths?: RealtimePath[];
  joinTimeoutMs?: number;
}

export function subscriberConfig(setup: SubscriberSetup, recorder: Recorder): SubscriberConfig {
  return {
    id: `${setup.kind}-${randomUUID().slice(0, 8)}`,
    supabaseUrl: setup.url,
    anonKey: setup.anonKey,
    accessToken: setup.token,
    schema: 'public',
    table: 'session_assignments',
    changesChannel: 'assignment-changes',
    broadcastChannel: setup.broadcastChannel,
    broadcastEvent: 'new_assignment',
    paths: setup.paths ?? ['postgres_changes', 'broadcast'],
    clock: systemClock,
    handlers: recorder,
    joinTimeoutMs: setup.joinTimeoutMs,
  };
}

export interface InsertedAssignment {
  eventId: string;
  assignmentId: string;
  sessionId: string;
  createdAt: string;
  /** systemClock.now() just before the INSERT was sent. */
  startedAt: number;
}

/** What the app does after the seed's fix, minus the broadcast: a session and a queued assignment. */
export async function insertAssignment(pool: pg.Pool, eventId = randomUUID()): Promise<InsertedAssignment> {
  const startedAt = systemClock.now();
  const session = await pool.query<{ id: string }>(
    `insert into public.sessions (type) values ('free') returning id`,
  );
  const sessionId = session.rows[0]?.id ?? '';
  const assignment = await pool.query<{ id: string; created_at: Date }>(
    `insert into public.session_assignments (session_id, status, offered_at, metadata)
     values ($1, 'queued', now(), $2) returning id, created_at`,
    [sessionId, JSON.stringify({ synthetic: true, canary_event_id: eventId, probe: 'clients-test' })],
  );
  const row = assignment.rows[0];
  if (!row) throw new Error('inserting an assignment returned no row');
  return { eventId, assignmentId: row.id, sessionId, createdAt: row.created_at.toISOString(), startedAt };
}

export function broadcastPayload(inserted: InsertedAssignment): Record<string, unknown> {
  return {
    assignmentId: inserted.assignmentId,
    sessionId: inserted.sessionId,
    status: 'queued',
    createdAt: inserted.createdAt,
    metadata: { synthetic: true, canary_event_id: inserted.eventId, probe: 'clients-test' },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}
