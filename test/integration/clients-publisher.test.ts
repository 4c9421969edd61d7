/**
 * The publisher against the local target: both modes create exactly one tagged assignment per
 * publish (and it reaches a subscriber on both paths), cleanup removes only synthetic rows older
 * than the retention, and no error message ever carries a key or token.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createLeanSubscriber,
  createPublisher,
  type Publisher,
  type PublisherConfig,
  type Subscriber,
} from '../../src/realtime/index.js';
import { isCanaryError, systemClock } from '../../src/shared/index.js';
import { withTarget } from '../helpers/target.js';
import {
  createRecorder,
  insertAssignment,
  subscribedOn,
  subscriberConfig,
  waitFor,
} from './clients-fixtures.js';

const target = withTarget();
const opened: Publisher[] = [];
const running: Subscriber[] = [];

afterEach(async () => {
  await target.current.faults.reset();
});

afterAll(async () => {
  await Promise.all(
    [...opened, ...running].map((closable) => ('close' in closable ? closable.close() : closable.stop())),
  );
});

function publisher(overrides: Partial<PublisherConfig> = {}): Publisher {
  const { url, anonKey, serviceRoleKey, broadcastChannel } = target.current;
  const created = createPublisher({
    mode: 'direct',
    supabaseUrl: url,
    anonKey,
    serviceRoleKey,
    waiverUrl: `${url}/api/waiver`,
    schema: 'public',
    table: 'session_assignments',
    sessionsTable: 'sessions',
    broadcastChannel,
    broadcastEvent: 'new_assignment',
    clock: systemClock,
    ...overrides,
  });
  opened.push(created);
  return created;
}

async function rowsTagged(
  eventId: string,
): Promise<{ id: string; session_id: string; status: string; metadata: Record<string, unknown> }[]> {
  const { rows } = await target.current.db.adminPool.query(
    `select id, session_id, status, metadata from public.session_assignments where metadata->>'canary_event_id' = $1`,
    [eventId],
  );
  return rows;
}

describe('publisher', () => {
  it.each(['direct', 'app_endpoint'] as const)(
    'in %s mode creates exactly one tagged assignment per publish and it reaches a subscriber on both paths',
    async (mode) => {
      const mechanic = await target.current.createMechanic();
      const recorder = createRecorder();
      const { url, anonKey, broadcastChannel } = target.current;
      const subscriber = createLeanSubscriber(
        subscriberConfig({ url, anonKey, token: mechanic.token, broadcastChannel, kind: 'lean' }, recorder),
      );
      running.push(subscriber);
      subscriber.start();
      await waitFor('SUBSCRIBED on both channels', subscribedOn(recorder, ['postgres_changes', 'broadcast']));

      const pub = publisher({ mode });
      for (let i = 0; i < 3; i += 1) {
        const eventId = randomUUID();
        const result = await pub.publish({ eventId, probe: 'publisher-test', payloadBytes: 512 });
        expect(result.errors).toEqual([]);
        expect(result).toMatchObject({ ok: true, broadcastOk: true });
        expect(result.finishedAt).toBeGreaterThanOrEqual(result.startedAt);
        expect(Date.parse(result.createdAt ?? '')).not.toBeNaN();
        const rows = await rowsTagged(eventId);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          id: result.assignmentId,
          session_id: result.sessionId,
          status: 'queued',
        });
        expect(rows[0]?.metadata).toMatchObject({
          synthetic: true,
          canary_event_id: eventId,
          probe: 'publisher-test',
        });
        expect(String(rows[0]?.metadata.pad)).toHaveLength(512);
        await waitFor('the event on both paths', () =>
          (['postgres_changes', 'broadcast'] as const).every((path) =>
            recorder.deliveries.some(
              (delivery) =>
                delivery.path === path &&
                delivery.keys.eventId === eventId &&
                delivery.keys.assignmentId === result.assignmentId,
            ),
          ),
        );
      }
    },
  );

  it('reports a failed broadcast separately from the insert', async () => {
    await target.current.faults.update({ restBroadcast: { failRate: 1 } });
    for (const mode of ['direct', 'app_endpoint'] as const) {
      const eventId = randomUUID();
      const result = await publisher({ mode }).publish({ eventId, probe: 'publisher-test' });
      expect(result.ok).toBe(true);
      expect(result.broadcastOk).toBe(false);
      expect(result.errors.map((error) => error.step)).toEqual(['broadcast']);
      expect(await rowsTagged(eventId)).toHaveLength(1);
    }
  });

  it('cleanup removes only synthetic rows older than the retention, with their sessions', async () => {
    const pool = target.current.db.adminPool;
    const oldSynthetic = await insertAssignment(pool);
    const freshSynthetic = await insertAssignment(pool);
    const oldReal = await insertAssignment(pool);
    await pool.query(`update public.session_assignments set metadata = '{"probe":"real"}' where id = $1`, [
      oldReal.assignmentId,
    ]);
    await pool.query(
      `update public.session_assignments set created_at = now() - interval '2 hours' where id = any($1::uuid[])`,
      [[oldSynthetic.assignmentId, oldReal.assignmentId]],
    );
    const { rows: before } = await pool.query<{ count: string }>(
      `select count(*) from public.session_assignments where metadata->>'synthetic' = 'true' and created_at < now() - interval '1 hour'`,
    );

    const removed = await publisher().cleanup(3_600_000);

    expect(removed).toBe(Number(before[0]?.count));
    const { rows } = await pool.query<{ id: string }>(
      `select id from public.session_assignments where id = any($1::uuid[])`,
      [[oldSynthetic.assignmentId, freshSynthetic.assignmentId, oldReal.assignmentId]],
    );
    expect(rows.map((row) => row.id).sort()).toEqual(
      [freshSynthetic.assignmentId, oldReal.assignmentId].sort(),
    );
    const { rows: sessions } = await pool.query<{ id: string }>(
      `select id from public.sessions where id = any($1::uuid[])`,
      [[oldSynthetic.sessionId, oldReal.sessionId]],
    );
    expect(sessions.map((row) => row.id)).toEqual([oldReal.sessionId]);
  });

  it('cleanup works through more synthetic rows than one batch holds', async () => {
    const pool = target.current.db.adminPool;
    // 250 old synthetic assignments, each with its own session, in two statements.
    await pool.query(
      `with sessions as (
         insert into public.sessions (type) select 'free' from generate_series(1, 250) returning id
       )
       insert into public.session_assignments (session_id, status, created_at, metadata)
       select id, 'queued', now() - interval '3 hours', '{"synthetic": true, "probe": "bulk"}'::jsonb from sessions`,
    );
    const removed = await publisher().cleanup(3_600_000);
    expect(removed).toBeGreaterThanOrEqual(250);
    const { rows } = await pool.query<{ count: string }>(
      `select count(*) from public.session_assignments where metadata->>'probe' = 'bulk'`,
    );
    expect(Number(rows[0]?.count)).toBe(0);
  });

  it('never puts a key or token in an error message', async () => {
    const forgedServiceKey = await target.current.mintToken(randomUUID(), {
      claims: { role: 'service_role' },
    });
    // Same claims, wrong signature: the target rejects it, and its text must not echo it back.
    const wrongKey = `${forgedServiceKey.slice(0, -6)}AAAAAA`;
    const direct = await publisher({ serviceRoleKey: wrongKey }).publish({
      eventId: randomUUID(),
      probe: 'p',
    });
    expect(direct.ok).toBe(false);
    expect(direct.errors[0]?.step).toBe('insert');

    const customerToken = `${forgedServiceKey.slice(0, -6)}BBBBBB`;
    const throughApp = await publisher({
      mode: 'app_endpoint',
      waiverHeaders: { Authorization: `Bearer ${customerToken}` },
    }).publish({ eventId: randomUUID(), probe: 'p' });
    expect(throughApp.ok).toBe(false);
    expect(throughApp.errors[0]?.message).toMatch(/^HTTP 401/);

    const unreachable = await publisher({
      mode: 'app_endpoint',
      waiverUrl: `http://127.0.0.1:9/api/waiver?apikey=${target.current.anonKey}`,
    }).publish({ eventId: randomUUID(), probe: 'p' });
    expect(unreachable.errors[0]?.step).toBe('endpoint');

    for (const result of [direct, throughApp, unreachable]) {
      for (const error of result.errors) {
        expect(error.message).not.toContain(wrongKey);
        expect(error.message).not.toContain(customerToken);
        expect(error.message).not.toContain(target.current.anonKey);
        expect(error.message).not.toContain(target.current.serviceRoleKey);
        expect(error.message).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      }
    }
  });

  it('refuses a configuration it cannot publish with, saying what to set', () => {
    const attempt = (overrides: Partial<PublisherConfig>): unknown => {
      try {
        publisher(overrides);
        return undefined;
      } catch (error) {
        return error;
      }
    };
    const noServiceKey = attempt({ serviceRoleKey: undefined });
    expect(isCanaryError(noServiceKey) && noServiceKey.code).toBe('CONFIG_INVALID');
    expect(isCanaryError(noServiceKey) && noServiceKey.hint).toMatch(/serviceRoleKey/);
    const noWaiver = attempt({ mode: 'app_endpoint', waiverUrl: undefined });
    expect(isCanaryError(noWaiver) && noWaiver.hint).toMatch(/waiverUrl/);
    const badWaiver = attempt({ mode: 'app_endpoint', waiverUrl: 'api/waiver' });
    expect(isCanaryError(badWaiver) && badWaiver.message).toMatch(/not an http\(s\) URL/);
    const badProject = attempt({ supabaseUrl: 'localhost:54321' });
    expect(isCanaryError(badProject) && badProject.hint).toMatch(/project URL/);
  });
});
