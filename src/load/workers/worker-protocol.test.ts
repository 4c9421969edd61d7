import { describe, expect, it } from 'vitest';
import { Secret } from '../../config/index.js';
import type { ResolvedEnvironment } from '../../probe/index.js';
import { receiveEnvironment, transferEnvironment } from './worker-protocol.js';

describe('worker protocol', () => {
  it('carries every field of an environment to a worker, its Secrets revealed only on the pipe', async () => {
    const env: ResolvedEnvironment = {
      name: 'local',
      labels: { team: 'ops' },
      config: {} as ResolvedEnvironment['config'],
      kind: 'local',
      supabaseUrl: 'http://127.0.0.1:5000',
      anonKey: new Secret('anon', 'LOCAL_ANON'),
      serviceRoleKey: undefined,
      waiverUrl: 'http://127.0.0.1:5000/api/waiver',
      waiverHeaders: { 'x-api-key': new Secret('header-secret', 'WAIVER_KEY') },
      queueUrl: undefined,
      schema: 'public',
      table: 'session_assignments',
      sessionsTable: 'sessions',
      changesChannel: 'changes',
      broadcastChannel: 'mechanic',
      broadcastEvent: 'new_assignment',
      connectionLimit: 200,
      loadRateCap: 20,
      mechanics: [{ id: 'm1', token: new Secret('token-1', 'local target') }],
      addMechanic: async () => ({ id: 'm2', token: new Secret('token-2', 'local target') }),
      localTarget: undefined,
      close: async () => {},
    };
    const wire = JSON.parse(JSON.stringify(transferEnvironment(env)));
    expect(JSON.stringify(wire)).toContain('header-secret');
    expect(wire).not.toHaveProperty('addMechanic');
    const received = receiveEnvironment(wire);
    const { addMechanic: _add, close: _close, ...sent } = env;
    expect(JSON.stringify({ ...received, close: undefined })).toBe(JSON.stringify(sent));
    expect(received.waiverHeaders['x-api-key']?.reveal()).toBe('header-secret');
    expect(received.mechanics[0]?.token.reveal()).toBe('token-1');
    expect(received.anonKey.source).toBe('LOCAL_ANON');
    await expect(received.close()).resolves.toBeUndefined();
  });
});
