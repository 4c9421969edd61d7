import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CreatedMechanic } from '../../src/local-target/index.js';
import { createSupabaseClient, withTarget } from '../helpers/target.js';

const target = withTarget();

interface Assignment {
  id: string;
  session_id: string;
  mechanic_id: string | null;
  status: string;
  created_at: string;
  updated_at: string;
  metadata: Record<string, unknown>;
}

describe('the REST API through real supabase-js', () => {
  let ada: CreatedMechanic;
  let bob: CreatedMechanic;
  let sessionId: string;
  let adaAssignment: Assignment;
  let openAssignment: Assignment;

  const service = () => createSupabaseClient(target.current.url, target.current.serviceRoleKey);
  const anon = () => createSupabaseClient(target.current.url, target.current.anonKey);
  const asMechanic = (mechanic: CreatedMechanic) =>
    createSupabaseClient(target.current.url, target.current.anonKey, { accessToken: mechanic.token });

  beforeAll(async () => {
    ada = await target.current.createMechanic({ name: 'Ada' });
    bob = await target.current.createMechanic({ name: 'Bob' });
    const session = await service().from('sessions').insert({ type: 'free' }).select().single();
    expect(session.error).toBeNull();
    sessionId = (session.data as { id: string }).id;
  });

  it('lets the service role insert an assignment and read it back', async () => {
    const client = service();
    const inserted = await client
      .from('session_assignments')
      .insert({
        session_id: sessionId,
        mechanic_id: ada.id,
        metadata: { canary_event_id: 'e-1', synthetic: true },
      })
      .select()
      .single();
    expect(inserted.error).toBeNull();
    expect(inserted.status).toBe(201);
    adaAssignment = inserted.data as Assignment;
    expect(adaAssignment.status).toBe('queued');
    expect(adaAssignment.metadata).toEqual({ canary_event_id: 'e-1', synthetic: true });
    expect(adaAssignment.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$/);

    const read = await client.from('session_assignments').select('id, status').eq('id', adaAssignment.id);
    expect(read.error).toBeNull();
    expect(read.data).toEqual([{ id: adaAssignment.id, status: 'queued' }]);

    const open = await client
      .from('session_assignments')
      .insert({ session_id: sessionId })
      .select('*')
      .single();
    expect(open.error).toBeNull();
    openAssignment = open.data as Assignment;
  });

  it('inserts in bulk, with missing keys as NULL unless defaultToNull is false', async () => {
    const client = service();
    const rows = [
      { session_id: sessionId, metadata: { batch: 1 } },
      { session_id: sessionId, status: 'offered' },
    ];
    const nulls = await client.from('session_assignments').insert(rows).select('id');
    expect([nulls.status, nulls.error?.code]).toEqual([400, '23502']);
    const bulk = await client
      .from('session_assignments')
      .insert(rows, { defaultToNull: false })
      .select('id, status');
    expect(bulk.error).toBeNull();
    expect((bulk.data ?? []).map((row) => row.status).sort()).toEqual(['offered', 'queued']);
  });

  it('answers an insert without .select() with 201 and no body', async () => {
    const client = service();
    const minimal = await client.from('session_assignments').insert({ session_id: sessionId });
    expect(minimal.error).toBeNull();
    expect(minimal.status).toBe(201);
    expect(minimal.data).toBeNull();
  });

  it('filters, orders and limits like PostgREST', async () => {
    const client = service();
    const filtered = await client
      .from('session_assignments')
      .select('id, status, created_at')
      .in('status', ['queued', 'offered'])
      .neq('id', adaAssignment.id)
      .gte('created_at', adaAssignment.created_at)
      .order('created_at', { ascending: false })
      .limit(2);
    expect(filtered.error).toBeNull();
    expect(filtered.data).toHaveLength(2);
    const times = (filtered.data ?? []).map((row) => Date.parse(row.created_at));
    expect(times[0]).toBeGreaterThanOrEqual(times[1] ?? 0);

    const unassigned = await client
      .from('session_assignments')
      .select('id')
      .is('mechanic_id', null)
      .eq('id', openAssignment.id);
    expect(unassigned.data).toEqual([{ id: openAssignment.id }]);

    const byEvent = await client
      .from('session_assignments')
      .select('id')
      .eq('metadata->>canary_event_id', 'e-1');
    expect(byEvent.data).toEqual([{ id: adaAssignment.id }]);

    const none = await client
      .from('session_assignments')
      .select('id')
      .lt('created_at', '2000-01-01T00:00:00Z');
    expect(none.data).toEqual([]);
  });

  it('supports or(), not() and like() filters as supabase-js sends them', async () => {
    const client = service();
    const either = await client
      .from('session_assignments')
      .select('id')
      .or(`id.eq.${adaAssignment.id},id.eq.${openAssignment.id}`)
      .order('created_at');
    expect(either.error).toBeNull();
    expect((either.data ?? []).map((row) => row.id)).toEqual([adaAssignment.id, openAssignment.id]);
    const notNull = await client
      .from('session_assignments')
      .select('id')
      .not('mechanic_id', 'is', null)
      .eq('session_id', sessionId);
    expect(notNull.data).toEqual([{ id: adaAssignment.id }]);
    const like = await client
      .from('session_assignments')
      .select('id')
      .like('metadata->>canary_event_id', 'e-*');
    expect(like.data).toEqual([{ id: adaAssignment.id }]);
  });

  it('answers .single() with 406 PGRST116 when no row matches, and .maybeSingle() with null', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const single = await service().from('session_assignments').select().eq('id', missing).single();
    expect(single.status).toBe(406);
    expect(single.error?.code).toBe('PGRST116');
    const maybe = await service().from('session_assignments').select().eq('id', missing).maybeSingle();
    expect(maybe.error).toBeNull();
    expect(maybe.data).toBeNull();
  });

  it('lets a mechanic read assignments and update only its own rows', async () => {
    const client = asMechanic(ada);
    const visible = await client.from('session_assignments').select('id').eq('id', openAssignment.id);
    expect(visible.data).toEqual([{ id: openAssignment.id }]);

    const own = await client
      .from('session_assignments')
      .update({ status: 'accepted', accepted_at: new Date().toISOString() })
      .eq('id', adaAssignment.id)
      .select('id, status, updated_at');
    expect(own.error).toBeNull();
    expect(own.data).toHaveLength(1);
    expect(own.data?.[0]?.status).toBe('accepted');
    expect(Date.parse(own.data?.[0]?.updated_at ?? '')).toBeGreaterThan(Date.parse(adaAssignment.updated_at));

    const foreign = await asMechanic(bob)
      .from('session_assignments')
      .update({ status: 'cancelled' })
      .eq('id', adaAssignment.id)
      .select();
    expect(foreign.error).toBeNull();
    expect(foreign.data).toEqual([]);
    const after = await service()
      .from('session_assignments')
      .select('status')
      .eq('id', adaAssignment.id)
      .single();
    expect(after.data).toEqual({ status: 'accepted' });
  });

  it('refuses a mechanic insert with 403 42501, since only the service role may insert', async () => {
    const denied = await asMechanic(ada).from('session_assignments').insert({ session_id: sessionId });
    expect(denied.status).toBe(403);
    expect(denied.error?.code).toBe('42501');
  });

  it('shows the anon key nothing and refuses its inserts with 401', async () => {
    const client = anon();
    const read = await client.from('session_assignments').select('id');
    expect(read.error).toBeNull();
    expect(read.data).toEqual([]);
    const insert = await client.from('session_assignments').insert({ session_id: sessionId });
    expect(insert.status).toBe(401);
    expect(insert.error?.code).toBe('42501');
  });

  it('returns a bad status value as the 23514 check violation', async () => {
    const bad = await service()
      .from('session_assignments')
      .insert({ session_id: sessionId, status: 'lost' })
      .select();
    expect(bad.status).toBe(400);
    expect(bad.error?.code).toBe('23514');
    expect(bad.error?.message).toMatch(/check constraint/);
  });

  it('maps not-null, foreign-key and bad-uuid failures to PostgREST statuses', async () => {
    const client = service();
    const notNull = await client.from('session_assignments').insert({ status: 'queued' });
    expect([notNull.status, notNull.error?.code]).toEqual([400, '23502']);
    const foreignKey = await client
      .from('session_assignments')
      .insert({ session_id: '00000000-0000-4000-8000-000000000000' });
    expect([foreignKey.status, foreignKey.error?.code]).toEqual([409, '23503']);
    const badUuid = await client.from('session_assignments').select().eq('id', 'not-a-uuid');
    expect([badUuid.status, badUuid.error?.code]).toEqual([400, '22P02']);
  });

  it('refuses unknown tables and columns before running any SQL', async () => {
    const client = service();
    const table = await client.from('no_such_table').select();
    expect([table.status, table.error?.code]).toEqual([404, 'PGRST205']);
    const column = await client.from('session_assignments').select('id, nope');
    expect([column.status, column.error?.code]).toEqual([400, '42703']);
    const filter = await client.from('session_assignments').select().eq('nope"; drop table sessions; --', 1);
    expect([filter.status, filter.error?.code]).toEqual([400, '42703']);
    const body = await client.from('session_assignments').insert({ session_id: sessionId, nope: 1 });
    expect([body.status, body.error?.code]).toEqual([400, 'PGRST204']);
    const bad = await fetch(`${target.current.url}/rest/v1/session_assignments?id=approx.1`, {
      headers: { apikey: target.current.serviceRoleKey },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('PGRST100');
  });

  it('sees a table created after start once a request names it', async () => {
    await target.current.db.adminPool.query(
      'create table public.late_table (id int primary key, note text); grant select on public.late_table to service_role',
    );
    await target.current.db.adminPool.query(`insert into public.late_table values (1, 'hello')`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const rows = await service().from('late_table').select('id, note');
    expect(rows.error).toBeNull();
    expect(rows.data).toEqual([{ id: 1, note: 'hello' }]);
  });

  it('rejects a token signed with another secret with 401 PGRST301', async () => {
    const forged = await new SignJWT({ role: 'service_role', exp: Math.floor(Date.now() / 1000) + 600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('somebody-elses-secret-with-32-or-more-chars'));
    const result = await createSupabaseClient(target.current.url, target.current.anonKey, {
      accessToken: forged,
    })
      .from('session_assignments')
      .select();
    expect(result.status).toBe(401);
    expect(result.error?.code).toBe('PGRST301');
  });

  it('rejects an expired token with 401 PGRST303 "JWT expired"', async () => {
    const expired = await target.current.mintToken(ada.id, { expiresInSeconds: -30 });
    const result = await createSupabaseClient(target.current.url, target.current.anonKey, {
      accessToken: expired,
    })
      .from('session_assignments')
      .select();
    expect(result.status).toBe(401);
    expect(result.error).toMatchObject({ code: 'PGRST303', message: 'JWT expired' });
  });

  it('answers a request without an apikey with 401 like the Supabase gateway', async () => {
    const response = await fetch(`${target.current.url}/rest/v1/session_assignments`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ message: 'No API key found in request' });
  });

  it('deletes rows and counts them with count=exact', async () => {
    const client = service();
    const counted = await client
      .from('session_assignments')
      .select('id', { count: 'exact' })
      .eq('session_id', sessionId)
      .limit(1);
    expect(counted.error).toBeNull();
    expect(counted.count).toBeGreaterThanOrEqual(5);
    const removed = await client
      .from('session_assignments')
      .delete()
      .eq('id', openAssignment.id)
      .select('id');
    expect(removed.data).toEqual([{ id: openAssignment.id }]);
    const gone = await client.from('session_assignments').delete().eq('id', openAssignment.id);
    expect(gone.status).toBe(204);
  });

  it('upserts on the primary key with resolution=merge-duplicates', async () => {
    const client = service();
    const upserted = await client
      .from('session_assignments')
      .upsert({ id: adaAssignment.id, session_id: sessionId, status: 'completed' })
      .select('id, status');
    expect(upserted.error).toBeNull();
    expect(upserted.data).toEqual([{ id: adaAssignment.id, status: 'completed' }]);
  });
});
