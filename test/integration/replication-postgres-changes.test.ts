/**
 * postgres_changes from the WAL, against a real target: payload shape, RLS per subscriber,
 * replica identity, filters, binding ids and subscription errors. The feed is driven directly
 * (as the gateway drives it) and, for delivery, end to end through the real supabase-js client.
 */
import type { RealtimePostgresChangesPayload } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ChangeBinding,
  JwtClaims,
  PostgresChangeData,
  ChangeSubscriptionHandle,
} from '../../src/local-target/index.js';
import { createSupabaseClient, withTarget } from '../helpers/target.js';

const COMMIT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Received {
  data: PostgresChangeData;
  ids: number[];
}

interface Recorder {
  received: Received[];
  errors: string[];
  ready: Promise<void>;
  handle: ChangeSubscriptionHandle;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('postgres_changes from the WAL', () => {
  const target = withTarget();
  let serviceClaims: JwtClaims;
  let sessionId: string;

  /** Subscribes through the feed exactly as the gateway does, recording what arrives. */
  function record(bindings: ChangeBinding[], claims: JwtClaims): Recorder {
    const received: Received[] = [];
    const errors: string[] = [];
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const handle = target.current.feed.subscribe({
      bindings,
      claims,
      onReady: () => markReady(),
      onChange: (data, ids) => received.push({ data, ids }),
      onError: (message) => {
        errors.push(message);
        markReady();
      },
    });
    return { received, errors, ready, handle };
  }

  async function insertAssignment(metadata: Record<string, unknown> = {}): Promise<string> {
    const { rows } = await target.current.db.adminPool.query<{ id: string }>(
      'insert into public.session_assignments (session_id, metadata) values ($1, $2) returning id',
      [sessionId, metadata],
    );
    return rows[0]!.id;
  }

  beforeAll(async () => {
    serviceClaims = await target.current.keys.verify(target.current.serviceRoleKey);
    const { rows } = await target.current.db.adminPool.query<{ id: string }>(
      'insert into public.sessions default values returning id',
    );
    sessionId = rows[0]!.id;
    // A plain table without RLS for filter semantics across types.
    await target.current.db.adminPool.query(`
      create table public.filter_probe (id int primary key, n int not null, label text not null, at timestamptz not null);
      alter table public.filter_probe replica identity full;
      grant select on public.filter_probe to anon, authenticated, service_role;
      alter publication supabase_realtime add table public.filter_probe;
      create table public.unpublished_probe (id int primary key);
      grant select on public.unpublished_probe to authenticated, service_role;`);
  });

  it('delivers a service-role insert to every authorised supabase-js subscriber exactly once, in commit order, and nothing to others', async () => {
    const t = target.current;
    const mechanics = await Promise.all([t.createMechanic(), t.createMechanic()]);
    const outsider = await t.mintToken('5b0a3c1e-0000-4000-8000-000000000001'); // authenticated, not a mechanic
    const userClient = (token: string): ReturnType<typeof createSupabaseClient> => {
      const client = createSupabaseClient(t.url, t.anonKey, { accessToken: token });
      // A signed-in dashboard's token: joins carry it from the first join on.
      void client.realtime.setAuth(token);
      return client;
    };
    const clients = [
      ...mechanics.map((mechanic) => ({
        name: mechanic.name,
        authorised: true,
        client: userClient(mechanic.token),
      })),
      { name: 'outsider', authorised: false, client: userClient(outsider) },
      { name: 'anon', authorised: false, client: createSupabaseClient(t.url, t.anonKey) },
    ];
    const seen = new Map<string, RealtimePostgresChangesPayload<Record<string, unknown>>[]>();
    try {
      await Promise.all(
        clients.map(
          ({ name, client }) =>
            new Promise<void>((resolve, reject) => {
              seen.set(name, []);
              client
                .channel(`assignments-${name}`)
                .on(
                  'postgres_changes',
                  { event: 'INSERT', schema: 'public', table: 'session_assignments' },
                  (payload) => seen.get(name)!.push(payload),
                )
                .subscribe((status, error) => {
                  if (status === 'SUBSCRIBED') resolve();
                  else if (status !== 'CLOSED')
                    reject(new Error(`${name}: ${status} ${error?.message ?? ''}`));
                });
            }),
        ),
      );
      const service = createSupabaseClient(t.url, t.serviceRoleKey);
      const count = 20;
      for (let seq = 0; seq < count; seq++) {
        const { error } = await service
          .from('session_assignments')
          .insert({ session_id: sessionId, status: 'queued', metadata: { probe: 'order', seq } });
        expect(error).toBeNull();
      }
      await waitFor(
        () => clients.filter((c) => c.authorised).every((c) => (seen.get(c.name)?.length ?? 0) >= count),
        15_000,
        'every mechanic to receive every insert',
      ).catch((error: Error) => {
        const counts = [...seen].map(([name, events]) => `${name}: ${events.length}`).join(', ');
        throw new Error(`${error.message} (received ${counts})`);
      });
      // Give strays time to arrive, so "exactly once" and "nothing" mean something.
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const { name, authorised } of clients) {
        const events = seen
          .get(name)!
          .filter((e) => (e.new as { metadata?: { probe?: string } }).metadata?.probe === 'order');
        if (!authorised) {
          expect(events, name).toHaveLength(0);
          continue;
        }
        expect(
          events.map((e) => (e.new as { metadata: { seq: number } }).metadata.seq),
          name,
        ).toEqual(Array.from({ length: count }, (_, i) => i));
        for (const event of events) {
          expect(event.eventType).toBe('INSERT');
          expect(event.commit_timestamp).toMatch(COMMIT_TIMESTAMP);
          expect(event.errors).toBeNull();
          expect(event.old).toEqual({});
        }
        const times = events.map((e) => Date.parse(e.commit_timestamp));
        expect([...times].sort((a, b) => a - b)).toEqual(times);
      }
      await service.removeAllChannels();
    } finally {
      await Promise.all(clients.map(({ client }) => client.removeAllChannels()));
    }
  });

  it('sends Supabase-shaped INSERT, UPDATE with the full old row, and DELETE with only the key on an RLS table', async () => {
    const outsiderClaims = await target.current.keys.verify(
      await target.current.mintToken('5b0a3c1e-0000-4000-8000-000000000002'),
    );
    const service = record(
      [{ id: 11, event: '*', schema: 'public', table: 'session_assignments' }],
      serviceClaims,
    );
    const outsider = record(
      [{ id: 12, event: '*', schema: 'public', table: 'session_assignments' }],
      outsiderClaims,
    );
    await Promise.all([service.ready, outsider.ready]);
    const id = await insertAssignment({ probe: 'shape', nested: { a: [1, 2] } });
    await waitFor(() => service.received.length >= 1, 10_000, 'the insert');
    await target.current.db.adminPool.query(
      `update public.session_assignments set status = 'offered' where id = $1`,
      [id],
    );
    await waitFor(() => service.received.length >= 2, 10_000, 'the update');
    await target.current.db.adminPool.query('delete from public.session_assignments where id = $1', [id]);
    await waitFor(() => service.received.length >= 3 && outsider.received.length >= 1, 10_000, 'the delete');

    const [insert, update, remove] = service.received.map((r) => r.data);
    expect(Object.keys(insert!).sort()).toEqual(
      ['columns', 'commit_timestamp', 'errors', 'record', 'schema', 'table', 'type'].sort(),
    );
    expect(insert).toMatchObject({
      schema: 'public',
      table: 'session_assignments',
      type: 'INSERT',
      errors: null,
    });
    expect(insert!.commit_timestamp).toMatch(COMMIT_TIMESTAMP);
    expect(insert!.columns.map((c) => `${c.name}:${c.type}`)).toEqual([
      'id:uuid',
      'session_id:uuid',
      'mechanic_id:uuid',
      'status:text',
      'created_at:timestamptz',
      'updated_at:timestamptz',
      'offered_at:timestamptz',
      'accepted_at:timestamptz',
      'expired_at:timestamptz',
      'metadata:jsonb',
    ]);
    expect(insert!.record).toMatchObject({ id, session_id: sessionId, status: 'queued', mechanic_id: null });
    expect(insert!.record!.metadata).toEqual({ probe: 'shape', nested: { a: [1, 2] } });
    // PostgREST's timestamptz shape, so records and REST rows compare equal.
    expect(insert!.record!.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/);

    expect(update!.type).toBe('UPDATE');
    expect(update!.record).toMatchObject({ id, status: 'offered' });
    expect(update!.old_record).toMatchObject({ id, status: 'queued', session_id: sessionId });
    expect(Object.keys(update!.old_record!)).toHaveLength(10);

    expect(remove!.type).toBe('DELETE');
    expect(remove!.record).toBeUndefined();
    expect(remove!.old_record).toEqual({ id });
    // Not a mechanic, so RLS hid the insert and update — but DELETE is not RLS-checked.
    expect(outsider.received.map((r) => r.data.type)).toEqual(['DELETE']);
    expect(outsider.received[0]!.data.old_record).toEqual({ id });
    service.handle.close();
    outsider.handle.close();
  });

  it('includes and excludes rows by eq, neq, lt, lte, gt, gte, in, not.in and comma-AND filters, DELETE by the old row', async () => {
    const filters: Record<string, string> = {
      eq: 'n=eq.3',
      neq: 'n=neq.3',
      lt: 'n=lt.3',
      lte: 'n=lte.3',
      gt: 'n=gt.3',
      gte: 'n=gte.3',
      in: 'label=in.(one,"fi,ve")',
      notIn: 'n=not.in.(1,2)',
      and: 'n=gt.1,n=lt.4',
      textLt: 'label=lt.m',
      timeGte: 'at=gte.2030-01-01T00:00:00Z',
    };
    const recorders = Object.fromEntries(
      Object.entries(filters).map(([name, filter], index) => [
        name,
        record(
          [{ id: 100 + index, event: '*', schema: 'public', table: 'filter_probe', filter }],
          serviceClaims,
        ),
      ]),
    );
    await Promise.all(Object.values(recorders).map((r) => r.ready));
    expect(Object.values(recorders).flatMap((r) => r.errors)).toEqual([]);
    const labels = ['one', 'two', 'three', 'four', 'fi,ve'];
    for (let n = 1; n <= 5; n++) {
      await target.current.db.adminPool.query('insert into public.filter_probe values ($1, $1, $2, $3)', [
        n,
        labels[n - 1],
        n >= 4 ? '2030-06-01T00:00:00Z' : '2020-01-01T00:00:00Z',
      ]);
    }
    await target.current.db.adminPool.query('delete from public.filter_probe where n = 3');
    const expected: Record<string, string[]> = {
      eq: ['I3', 'D3'],
      neq: ['I1', 'I2', 'I4', 'I5'],
      lt: ['I1', 'I2'],
      lte: ['I1', 'I2', 'I3', 'D3'],
      gt: ['I4', 'I5'],
      gte: ['I3', 'I4', 'I5', 'D3'],
      in: ['I1', 'I5'],
      notIn: ['I3', 'I4', 'I5', 'D3'],
      and: ['I2', 'I3', 'D3'],
      // Byte order (the target runs without a locale): 'fi,ve' and 'four' sort before 'm'.
      textLt: ['I4', 'I5'],
      timeGte: ['I4', 'I5'],
    };
    await waitFor(() => recorders.eq!.received.length >= 2, 10_000, 'the delete to reach the eq subscriber');
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [name, recorder] of Object.entries(recorders)) {
      const got = recorder.received.map(({ data }) => {
        const row = (data.type === 'DELETE' ? data.old_record : data.record) as { n: number };
        return `${data.type[0]}${row.n}`;
      });
      expect(got, `${name} (${filters[name]})`).toEqual(expected[name]);
      recorder.handle.close();
    }
  });

  it('sends one change with both ids when two bindings on one channel match it', async () => {
    const recorder = record(
      [
        { id: 201, event: 'INSERT', schema: 'public', table: 'filter_probe' },
        { id: 202, event: '*', schema: 'public', table: 'filter_probe', filter: 'n=eq.42' },
        { id: 203, event: 'DELETE', schema: 'public', table: 'filter_probe' },
      ],
      serviceClaims,
    );
    await recorder.ready;
    await target.current.db.adminPool.query(`insert into public.filter_probe values (42, 42, 'x', now())`);
    await target.current.db.adminPool.query(`insert into public.filter_probe values (43, 43, 'y', now())`);
    await waitFor(() => recorder.received.length >= 2, 10_000, 'both inserts');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(recorder.received.map((r) => r.ids)).toEqual([[201, 202], [201]]);
    recorder.handle.close();
  });

  it('reports bad filters, unpublished tables and unknown filter columns with Supabase messages', async () => {
    const bad = record(
      [{ id: 301, event: '*', schema: 'public', table: 'filter_probe', filter: 'n=foo.1' }],
      serviceClaims,
    );
    const unpublished = record(
      [{ id: 302, event: 'INSERT', schema: 'public', table: 'unpublished_probe' }],
      serviceClaims,
    );
    const column = record(
      [{ id: 303, event: '*', schema: 'public', table: 'filter_probe', filter: 'nope=eq.1' }],
      serviceClaims,
    );
    const badValue = record(
      [{ id: 304, event: '*', schema: 'public', table: 'filter_probe', filter: 'n=eq.abc' }],
      serviceClaims,
    );
    await Promise.all([bad.ready, unpublished.ready, column.ready, badValue.ready]);
    expect(bad.errors).toEqual(['Error parsing `filter` params: ["foo", "1"]']);
    expect(unpublished.errors).toEqual([
      'Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: [event: INSERT, schema: public, table: unpublished_probe, filters: [], select: nil]',
    ]);
    expect(column.errors).toEqual([
      'Unable to subscribe to changes with given parameters. Exception: ERROR P0001 (raise_exception) invalid column for filter nope',
    ]);
    expect(badValue.errors[0]).toMatch(
      /^Unable to subscribe to changes with given parameters\. Exception: ERROR 22P02 \(invalid_text_representation\) invalid input syntax for type integer/,
    );
    await target.current.db.adminPool.query('insert into public.unpublished_probe values (1)');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([bad, unpublished, column, badValue].flatMap((r) => r.received)).toEqual([]);
  });

  it('follows a claims switch: the same subscription sees rows only while its token belongs to a mechanic', async () => {
    const mechanic = await target.current.createMechanic();
    const mechanicClaims = await target.current.keys.verify(mechanic.token);
    const outsiderClaims = await target.current.keys.verify(
      await target.current.mintToken('5b0a3c1e-0000-4000-8000-000000000003'),
    );
    const binding: ChangeBinding = {
      id: 401,
      event: 'INSERT',
      schema: 'public',
      table: 'session_assignments',
    };
    const recorder = record([binding], mechanicClaims);
    // The service-role watcher tells when the feed has judged each insert.
    const watcher = record([{ ...binding, id: 402 }], serviceClaims);
    await Promise.all([recorder.ready, watcher.ready]);
    const stepsOf = (r: Recorder): number[] =>
      r.received
        .map((x) => x.data.record!.metadata as { probe?: string; step: number })
        .filter((m) => m.probe === 'claims')
        .map((m) => m.step);
    await insertAssignment({ probe: 'claims', step: 1 });
    await waitFor(() => stepsOf(watcher).includes(1), 10_000, 'step 1');
    recorder.handle.updateClaims(outsiderClaims);
    await insertAssignment({ probe: 'claims', step: 2 });
    await waitFor(() => stepsOf(watcher).includes(2), 10_000, 'step 2');
    recorder.handle.updateClaims(mechanicClaims);
    await insertAssignment({ probe: 'claims', step: 3 });
    await waitFor(() => stepsOf(watcher).includes(3), 10_000, 'step 3');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stepsOf(recorder)).toEqual([1, 3]);
    recorder.handle.close();
    watcher.handle.close();
  });

  afterAll(async () => {
    const lag = await target.current.db.adminPool.query<{ slots: number }>(
      `select count(*)::int as slots from pg_replication_slots where slot_name like 'canary_feed_%'`,
    );
    expect(lag.rows[0]!.slots).toBe(1);
  });
});
