/**
 * What the client integration tests share: a recorder of one subscriber's statuses and deliveries,
 * a bounded wait, a way to create a tagged assignment the way the app does (straight into the
 * target's database, so subscriber tests do not depend on the publisher under test elsewhere), and
 * a target in a child process (so its CPU and memory are not counted, and it can be frozen).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import type pg from 'pg';
import type {
  ClientKind,
  Delivery,
  RealtimePath,
  StatusChange,
  SubscriberConfig,
  SubscriberHandlers,
} from '../../src/realtime/index.js';
import { fixedToken } from '../../src/realtime/index.js';
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
    tokens: fixedToken(setup.token),
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

export interface ChildTargetInfo {
  url: string;
  anonKey: string;
  token: string;
  broadcastChannel: string;
}

export type ChildCommand = { type: 'broadcast'; count: number } | { type: 'insert'; count: number };

export interface ChildTarget {
  readonly info: ChildTargetInfo;
  command(command: ChildCommand): void;
  /** SIGSTOP: the target keeps its sockets but answers nothing (a hung server). */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  stop(): Promise<void>;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Child process: start a target with limits raised for crowds, then obey simple commands. */
const CHILD_SOURCE = `
import { randomUUID } from 'node:crypto';
const { startTarget } = await import(process.env.TARGET_MODULE);
const target = await startTarget({
  limits: { maxConcurrentConnections: 5000, maxJoinsPerSecond: 100000, maxMessagesPerSecond: 10000000, maxChannelsPerConnection: 100 },
});
const mechanic = await target.createMechanic();
process.send({ url: target.url, anonKey: target.anonKey, token: mechanic.token, broadcastChannel: target.broadcastChannel });
process.on('message', async (message) => {
  if (message.type === 'broadcast') {
    for (let i = 0; i < message.count; i += 1) {
      target.gateway.broadcast(target.broadcastChannel, 'new_assignment', {
        assignmentId: randomUUID(), sessionId: randomUUID(), status: 'queued', createdAt: new Date().toISOString(),
        metadata: { synthetic: true, canary_event_id: randomUUID(), probe: 'child' },
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } else if (message.type === 'insert') {
    for (let i = 0; i < message.count; i += 1) {
      const session = await target.db.adminPool.query("insert into public.sessions (type) values ('free') returning id");
      await target.db.adminPool.query(
        "insert into public.session_assignments (session_id, status, offered_at, metadata) values ($1, 'queued', now(), $2)",
        [session.rows[0].id, JSON.stringify({ synthetic: true, canary_event_id: randomUUID(), probe: 'child' })],
      );
    }
  } else if (message.type === 'stop') {
    await target.stop();
    process.exit(0);
  }
});
`;

export async function startChildTarget(): Promise<ChildTarget> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-child-target-'));
  const script = path.join(dir, 'target-child.mjs');
  fs.writeFileSync(script, CHILD_SOURCE);
  const child = fork(script, [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      TARGET_MODULE: pathToFileURL(path.join(repoRoot, 'src/local-target/index.ts')).href,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await new Promise<ChildTargetInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the target child did not start within 60 s')), 60_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as ChildTargetInfo);
    });
    child.once('exit', (code) => reject(new Error(`the target child exited with ${code}`)));
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    info,
    command: (command) => child.send(command),
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    async stop() {
      child.kill('SIGCONT');
      if (child.connected) {
        child.send({ type: 'stop' });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A full collection, so heap figures measure what is retained. */
export function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i += 1) gc();
}
