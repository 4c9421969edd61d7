import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/index.js';
import { restBroadcaster, type CreatedMechanic } from '../../src/local-target/index.js';
import { createSupabaseClient, withTarget } from '../helpers/target.js';

interface Announcement {
  event: string;
  payload: Record<string, unknown>;
}

const announcements: Announcement[] = [];
const target = withTarget({
  broadcaster: () => async (event, payload) => {
    announcements.push({ event, payload });
  },
});

interface WaiverResult {
  assignmentId: string;
  sessionId: string;
  broadcast: string;
  createdAt: string;
}

interface QueueBody {
  assignments: { id: string; status: string; created_at: string; metadata: Record<string, unknown> }[];
}

async function postWaiver(body: unknown): Promise<Response> {
  return fetch(`${target.current.url}/api/waiver`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function getQueue(token: string): Promise<Response> {
  return fetch(`${target.current.url}/api/mechanic/queue`, { headers: { Authorization: `Bearer ${token}` } });
}

async function countAssignments(sessionId: string): Promise<number> {
  const { rows } = await target.current.db.adminPool.query<{ n: number }>(
    'select count(*)::int as n from public.session_assignments where session_id = $1',
    [sessionId],
  );
  return rows[0]?.n ?? -1;
}

describe('POST /api/waiver', () => {
  it('creates one queued assignment with the caller metadata and announces new_assignment', async () => {
    announcements.length = 0;
    const response = await postWaiver({
      sessionType: 'paid',
      metadata: { canary_event_id: 'evt-1', synthetic: true },
    });
    expect(response.status).toBe(201);
    const result = (await response.json()) as WaiverResult;
    expect(result.broadcast).toBe('ok');
    expect(await countAssignments(result.sessionId)).toBe(1);
    const { rows } = await target.current.db.adminPool.query(
      'select status, offered_at, metadata from public.session_assignments where id = $1',
      [result.assignmentId],
    );
    expect(rows[0]).toMatchObject({
      status: 'queued',
      metadata: { canary_event_id: 'evt-1', synthetic: true },
    });
    expect(rows[0]?.offered_at).toBeInstanceOf(Date);
    expect(announcements).toEqual([
      {
        event: 'new_assignment',
        payload: {
          assignmentId: result.assignmentId,
          sessionId: result.sessionId,
          status: 'queued',
          createdAt: result.createdAt,
          metadata: { canary_event_id: 'evt-1', synthetic: true },
        },
      },
    ]);
  });

  it('creates exactly one assignment per call when 50 calls for one session run in parallel', async () => {
    const sessionId = crypto.randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        postWaiver({ sessionId, metadata: { canary_event_id: `p-${i}` } }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(201));
    const results = (await Promise.all(responses.map((response) => response.json()))) as WaiverResult[];
    expect(new Set(results.map((result) => result.assignmentId)).size).toBe(50);
    expect(new Set(results.map((result) => result.sessionId))).toEqual(new Set([sessionId]));
    expect(await countAssignments(sessionId)).toBe(50);
  });

  it('answers a bad body with 400 JSON naming the field, and writes nothing', async () => {
    const before = await target.current.db.adminPool.query<{ n: number }>(
      'select count(*)::int as n from public.session_assignments',
    );
    for (const body of [{ sessionId: 'nope' }, { sessionType: 'vip' }, { metadata: 'x' }, { extra: 1 }]) {
      const response = await postWaiver(body);
      expect(response.status).toBe(400);
      const error = (await response.json()) as { error: string; message: string; issues: { path: string }[] };
      expect(error.error).toBe('invalid_body');
      expect(error.issues.length).toBeGreaterThan(0);
    }
    const after = await target.current.db.adminPool.query<{ n: number }>(
      'select count(*)::int as n from public.session_assignments',
    );
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('refuses a bearer token it cannot verify', async () => {
    const response = await fetch(`${target.current.url}/api/waiver`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not.a.jwt' },
      body: '{}',
    });
    expect(response.status).toBe(401);
  });
});

describe('GET /api/mechanic/queue', () => {
  let mechanic: CreatedMechanic;
  let other: CreatedMechanic;

  beforeAll(async () => {
    mechanic = await target.current.createMechanic({ name: 'Queue Reader' });
    other = await target.current.createMechanic({ name: 'Other' });
  });

  it('lists queued assignments newest first with no-cache headers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const result = (await (
        await postWaiver({ metadata: { canary_event_id: `q-${i}` } })
      ).json()) as WaiverResult;
      ids.push(result.assignmentId);
    }
    const response = await getQueue(mechanic.token);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store, no-cache, must-revalidate, max-age=0');
    expect(response.headers.get('pragma')).toBe('no-cache');
    expect(response.headers.get('expires')).toBe('0');
    const body = (await response.json()) as QueueBody;
    expect(body.assignments.length).toBeLessThanOrEqual(50);
    expect(body.assignments.slice(0, 3).map((row) => row.id)).toEqual([...ids].reverse());
    expect(body.assignments.every((row) => row.status === 'queued')).toBe(true);
  });

  it('leaves out assignments offered to another mechanic and ones no longer queued', async () => {
    const mine = (await (await postWaiver({})).json()) as WaiverResult;
    const theirs = (await (await postWaiver({})).json()) as WaiverResult;
    await target.current.db.adminPool.query(
      'update public.session_assignments set mechanic_id = $1 where id = $2',
      [other.id, theirs.assignmentId],
    );
    const accept = await fetch(`${target.current.url}/api/mechanic/assignments/${mine.assignmentId}/accept`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${mechanic.token}` },
    });
    expect(accept.status).toBe(200);
    const ids = ((await (await getQueue(mechanic.token)).json()) as QueueBody).assignments.map(
      (row) => row.id,
    );
    expect(ids).not.toContain(theirs.assignmentId);
    expect(ids).not.toContain(mine.assignmentId);
    const theirIds = ((await (await getQueue(other.token)).json()) as QueueBody).assignments.map(
      (row) => row.id,
    );
    expect(theirIds).toContain(theirs.assignmentId);
  });

  it('shows the anon key an empty queue because RLS hides every row', async () => {
    await postWaiver({});
    const body = (await (await getQueue(target.current.anonKey)).json()) as QueueBody;
    expect(body.assignments).toEqual([]);
  });

  it('needs a valid bearer token', async () => {
    expect((await fetch(`${target.current.url}/api/mechanic/queue`)).status).toBe(401);
    const expired = await target.current.mintToken(mechanic.id, { expiresInSeconds: -5 });
    expect((await getQueue(expired)).status).toBe(401);
  });

  it('serves stale snapshots with cacheable headers under the polling fault, and counts them', async () => {
    await target.current.faults.update({ polling: { staleMs: 60_000, cacheableHeaders: true } });
    try {
      const first = (await (await getQueue(mechanic.token)).json()) as QueueBody;
      const created = (await (await postWaiver({})).json()) as WaiverResult;
      const second = await getQueue(mechanic.token);
      expect(second.headers.get('cache-control')).toBe('public, max-age=60');
      expect(second.headers.get('pragma')).toBeNull();
      const stale = (await second.json()) as QueueBody;
      expect(stale).toEqual(first);
      expect(stale.assignments.map((row) => row.id)).not.toContain(created.assignmentId);
      const metrics = await (await fetch(`${target.current.url}/metrics`)).text();
      expect(metrics).toMatch(/target_faults_injected_total\{fault="stale_poll",path="polling"\} [1-9]/);
      expect(metrics).toMatch(/target_deliveries_total\{path="polling"\} [1-9]/);
    } finally {
      await target.current.faults.reset();
    }
    const fresh = (await (await getQueue(mechanic.token)).json()) as QueueBody;
    expect(fresh.assignments.length).toBeGreaterThan(0);
  });

  it('answers late under the polling delay fault', async () => {
    await target.current.faults.update({ polling: { delayMs: 300 } });
    try {
      const started = performance.now();
      expect((await getQueue(mechanic.token)).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      await target.current.faults.reset();
    }
  });
});

describe('POST /api/mechanic/assignments/:id/accept', () => {
  it('accepts once, then answers 409 because the assignment is no longer queued', async () => {
    const [first, second] = await Promise.all([
      target.current.createMechanic(),
      target.current.createMechanic(),
    ]);
    const created = (await (await postWaiver({})).json()) as WaiverResult;
    const accept = (token: string) =>
      fetch(`${target.current.url}/api/mechanic/assignments/${created.assignmentId}/accept`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
    const ok = await accept(first!.token);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'accepted', mechanic_id: first!.id });
    const late = await accept(second!.token);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: string }).error).toBe('not_queued');
  });

  it('refuses callers that are not mechanics and ids that are not uuids', async () => {
    const created = (await (await postWaiver({})).json()) as WaiverResult;
    const stranger = await target.current.mintToken(crypto.randomUUID());
    const refused = await fetch(
      `${target.current.url}/api/mechanic/assignments/${created.assignmentId}/accept`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${stranger}` },
      },
    );
    expect(refused.status).toBe(403);
    const mechanic = await target.current.createMechanic();
    const badId = await fetch(`${target.current.url}/api/mechanic/assignments/123/accept`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${mechanic.token}` },
    });
    expect(badId.status).toBe(400);
  });
});

describe('the default broadcaster', () => {
  let server: http.Server;
  const received: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let status = 202;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ url: request.url ?? '', headers: request.headers, body });
        response.statusCode = status;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts the new_assignment message to the Realtime REST broadcast endpoint with the service key', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const broadcast = restBroadcaster(url, 'service-key', 'mechanic-assignments', silentLogger);
    await broadcast('new_assignment', { assignmentId: 'a1' });
    expect(received).toHaveLength(1);
    expect(received[0]?.url).toBe('/realtime/v1/api/broadcast');
    expect(received[0]?.headers.apikey).toBe('service-key');
    expect(received[0]?.headers.authorization).toBe('Bearer service-key');
    expect(JSON.parse(received[0]?.body ?? '')).toEqual({
      messages: [
        {
          topic: 'mechanic-assignments',
          event: 'new_assignment',
          payload: { assignmentId: 'a1' },
          private: false,
        },
      ],
    });
    status = 404;
    await expect(broadcast('new_assignment', {})).rejects.toThrow(/404/);
  });
});

describe('a waiver on a target with the default broadcaster', () => {
  const live = withTarget();

  it('still creates the assignment and reports broadcast failed when the broadcast endpoint fails', async () => {
    await live.current.faults.update({ restBroadcast: { failRate: 1 } });
    try {
      const response = await fetch(`${live.current.url}/api/waiver`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ metadata: { canary_event_id: 'no-broadcast' } }),
      });
      expect(response.status).toBe(201);
      const result = (await response.json()) as WaiverResult;
      expect(result.broadcast).toBe('failed');
      const { rows } = await live.current.db.adminPool.query(
        `select id from public.session_assignments where metadata ->> 'canary_event_id' = 'no-broadcast'`,
      );
      expect(rows).toEqual([{ id: result.assignmentId }]);
    } finally {
      await live.current.faults.reset();
    }
  });

  it('reaches a subscribed mechanic through both the broadcast and postgres_changes', async () => {
    const mechanic = await live.current.createMechanic();
    const client = createSupabaseClient(live.current.url, live.current.anonKey, {
      accessToken: mechanic.token,
    });
    const broadcasts: Record<string, unknown>[] = [];
    const inserts: Record<string, unknown>[] = [];
    try {
      const channel = client
        .channel(live.current.broadcastChannel)
        .on('broadcast', { event: 'new_assignment' }, (message) =>
          broadcasts.push(message.payload as Record<string, unknown>),
        )
        .on(
          'postgres_changes',
          { event: 'INSERT', schema: 'public', table: 'session_assignments' },
          (message) => inserts.push(message.new as Record<string, unknown>),
        );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('not SUBSCRIBED within 20 s')), 20_000);
        channel.subscribe((status, error) => {
          if (status === 'SUBSCRIBED') {
            clearTimeout(timer);
            resolve();
          } else if (status !== 'CLOSED') reject(error ?? new Error(status));
        });
      });
      const response = await fetch(`${live.current.url}/api/waiver`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ metadata: { canary_event_id: 'e2e-1', synthetic: true } }),
      });
      const result = (await response.json()) as WaiverResult;
      expect(result.broadcast).toBe('ok');
      const deadline = Date.now() + 20_000;
      const arrived = (): boolean =>
        broadcasts.some((payload) => payload.assignmentId === result.assignmentId) &&
        inserts.some((row) => row.id === result.assignmentId);
      while (!arrived() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(broadcasts.filter((payload) => payload.assignmentId === result.assignmentId)).toEqual([
        expect.objectContaining({
          assignmentId: result.assignmentId,
          metadata: { canary_event_id: 'e2e-1', synthetic: true },
        }),
      ]);
      // Only this waiver's row: earlier tests' inserts may still be in flight to the feed.
      expect(inserts.filter((row) => row.id === result.assignmentId)).toEqual([
        expect.objectContaining({
          id: result.assignmentId,
          metadata: { canary_event_id: 'e2e-1', synthetic: true },
        }),
      ]);
    } finally {
      await client.removeAllChannels();
    }
  });
});
