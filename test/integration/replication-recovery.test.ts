/**
 * The change feed against a real Postgres that drops its replication connection: the feed opens a
 * new slot and postgres_changes flow again without the subscriber doing anything.
 */
import { describe, expect, it } from 'vitest';
import type { PostgresChangeData } from '../../src/local-target/index.js';
import { withTarget } from '../helpers/target.js';

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('change feed recovery', () => {
  const target = withTarget();

  it('reconnects with a new slot after its WAL sender is terminated, and delivers later changes', async () => {
    const t = target.current;
    const pool = t.db.adminPool;
    const claims = await t.keys.verify(t.serviceRoleKey);
    const received: PostgresChangeData[] = [];
    const errors: string[] = [];
    let ready = false;
    const handle = t.feed.subscribe({
      bindings: [{ id: 1, event: 'INSERT', schema: 'public', table: 'session_assignments' }],
      claims,
      onReady: () => (ready = true),
      onChange: (data) => received.push(data),
      onError: (message) => errors.push(message),
    });
    await waitFor(() => ready, 10_000, 'the subscription');
    const { rows } = await pool.query<{ id: string }>(
      'insert into public.sessions default values returning id',
    );
    const insert = (step: number) =>
      pool.query(`insert into public.session_assignments (session_id, metadata) values ($1, $2)`, [
        rows[0]!.id,
        { probe: 'recovery', step },
      ]);
    await insert(1);
    await waitFor(() => received.length === 1, 10_000, 'the first change');

    const slots = async (): Promise<{ slot_name: string; active: boolean }[]> =>
      (
        await pool.query<{ slot_name: string; active: boolean }>(
          `select slot_name, active from pg_replication_slots where slot_name like 'canary_feed_%'`,
        )
      ).rows;
    const before = await slots();
    expect(before).toHaveLength(1);
    await pool.query(
      `select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1`,
      [before[0]!.slot_name],
    );
    await waitFor(
      async () => {
        const now = await slots();
        return now.length === 1 && now[0]!.active && now[0]!.slot_name !== before[0]!.slot_name;
      },
      15_000,
      'a new active slot',
    );
    await insert(2);
    await waitFor(() => received.length === 2, 10_000, 'the change after reconnecting');
    expect(received.map((data) => (data.record!.metadata as { step: number }).step)).toEqual([1, 2]);
    expect(errors).toEqual([]);
    handle.close();
  });
});
