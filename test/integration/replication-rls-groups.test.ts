/**
 * RLS for postgres_changes costs one check per distinct claims set, not one per subscriber: 1,000
 * subscriptions held by three mechanics' tokens make three checks per change, and all 1,000 get it.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/index.js';
import { withTarget } from '../helpers/target.js';

describe('RLS checks grouped by claims', () => {
  const batches: Record<string, unknown>[] = [];
  const target = withTarget({
    logger: createLogger({
      level: 'debug',
      json: true,
      write: (line) => {
        if (line.includes('"replication batch"')) batches.push(JSON.parse(line) as Record<string, unknown>);
      },
    }),
  });

  it('asks Postgres three times for 1,000 subscribers holding three mechanics’ claims', async () => {
    const t = target.current;
    const mechanics = await Promise.all([t.createMechanic(), t.createMechanic(), t.createMechanic()]);
    const claims = await Promise.all(mechanics.map((mechanic) => t.keys.verify(mechanic.token)));
    let delivered = 0;
    let ready = 0;
    const handles = Array.from({ length: 1000 }, (_, i) =>
      t.feed.subscribe({
        bindings: [{ id: 1, event: 'INSERT', schema: 'public', table: 'session_assignments' }],
        claims: claims[i % 3]!,
        onReady: () => ready++,
        onError: (message) => {
          throw new Error(message);
        },
        onChange: () => delivered++,
      }),
    );
    const deadline = Date.now() + 20_000;
    while (ready < 1000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ready).toBe(1000);
    const { rows } = await t.db.adminPool.query<{ id: string }>(
      'insert into public.sessions default values returning id',
    );
    await t.db.adminPool.query('insert into public.session_assignments (session_id) values ($1)', [
      rows[0]!.id,
    ]);
    while (delivered < 1000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(delivered).toBe(1000);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ changes: 1, deliveries: 1000, rlsChecks: 3 });
    for (const handle of handles) handle.close();
  });
});
