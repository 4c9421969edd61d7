/**
 * postgres_changes for the local target: a logical replication slot (pgoutput) on the
 * supabase_realtime publication, decoded into Supabase-shaped change payloads and authorised per
 * subscriber in Postgres. (Scaffold: replaced by the WAL implementation.)
 */
import type { ChangeFeed, TargetContext } from '../components.js';

export function createChangeFeed(_ctx: TargetContext): ChangeFeed {
  return {
    start: async () => {},
    subscribe: () => ({ updateClaims: () => {}, close: () => {} }),
    stop: async () => {},
  };
}
