import { afterEach, describe, expect, it } from 'vitest';
import { MechanicPool } from '../../auth/index.js';
import { Secret } from '../../config/index.js';
import type { ResolvedEnvironment } from '../../probe/index.js';
import { ProjectTransport, TlsTrust } from '../../net/index.js';
import { issueLocalCertificates } from '../../local-target/tls/certificates.js';
import { receiveEnvironment, transferEnvironment } from './worker-protocol.js';

const caPem = issueLocalCertificates().caPem;

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('worker protocol', () => {
  it('carries every field of an environment to a worker, its Secrets revealed only on the pipe, and gives the worker its own mechanic sessions', async () => {
    const pool = new MechanicPool({ env: 'local' });
    closers.push(() => pool.stop());
    const jwtSecret = new Secret('a-legacy-jwt-secret-of-at-least-32-chars', 'LOCAL_JWT_SECRET');
    const session = await pool.add({ kind: 'mint', jwtSecret, userId: 'm1', lifetimeSeconds: 3600 });
    const env: ResolvedEnvironment = {
      name: 'local',
      labels: { team: 'ops' },
      config: { tls: { resumeSessions: false } } as ResolvedEnvironment['config'],
      kind: 'local',
      supabaseUrl: 'http://127.0.0.1:5000',
      transport: new ProjectTransport({ trust: TlsTrust.of({ caPems: [caPem] }) }),
      tlsCaPems: [caPem],
      anonKey: new Secret('anon', 'LOCAL_ANON'),
      serviceRoleKey: undefined,
      keyKinds: { client: 'anon', server: undefined },
      waiverUrl: 'http://127.0.0.1:5000/api/waiver',
      waiverHeaders: { 'x-api-key': new Secret('header-secret', 'WAIVER_KEY') },
      queueUrl: undefined,
      schema: 'public',
      table: 'session_assignments',
      sessionsTable: 'sessions',
      changesChannel: 'changes',
      broadcastChannel: 'mechanic',
      broadcastEvent: 'new_assignment',
      dbBroadcast: { topic: 'assignments', event: 'INSERT', replay: true },
      connectionLimit: 200,
      loadRateCap: 20,
      mechanics: [{ id: 'm1', session }],
      mechanicPool: pool,
      addMechanic: async () => ({ id: 'm1', session }),
      localTarget: undefined,
      close: async () => {},
    };
    const wire = JSON.parse(JSON.stringify(transferEnvironment(env)));
    expect(JSON.stringify(wire)).toContain('header-secret');
    expect(wire).not.toHaveProperty('addMechanic');
    expect(wire).not.toHaveProperty('mechanicPool');
    // A token is not sent: the worker mints (or signs in) and renews its own.
    expect(JSON.stringify(wire)).not.toContain(session.current());

    const received = await receiveEnvironment(wire);
    closers.push(() => received.close());
    const { addMechanic: _add, close: _close, mechanics: _m, mechanicPool: _p, transport: _x, ...sent } = env;
    const {
      close: _c2,
      mechanics: got,
      mechanicPool: gotPool,
      localTarget: _t,
      transport: gotTransport,
      ...rest
    } = received;
    // The worker trusts the same CAs: same trust configuration, its own transport.
    expect(gotTransport).not.toBe(env.transport);
    expect(gotTransport.trust).toBe(env.transport.trust);
    expect(JSON.stringify(rest)).toBe(JSON.stringify(sent));
    expect(received.waiverHeaders['x-api-key']?.reveal()).toBe('header-secret');
    expect(received.anonKey.source).toBe('LOCAL_ANON');
    expect(got.map((m) => m.id)).toEqual(['m1']);
    expect(got[0]?.session.source).toBe('mint');
    expect(got[0]?.session.id).toBe('m1');
    expect(got[0]?.session.current()).toMatch(/^ey/);
    expect(gotPool.sessions).toHaveLength(1);
    await expect(received.close()).resolves.toBeUndefined();
  });
});
