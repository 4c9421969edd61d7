/**
 * The local target's Realtime gateway: the Phoenix websocket protocol as Supabase Realtime speaks
 * it (vsn 1.0.0 and 2.0.0), channels, broadcast, presence and plan limits.
 * (Scaffold: replaced by the gateway implementation.)
 */
import type { ChangeFeed, RealtimeGateway, TargetContext } from '../components.js';

export function createRealtimeGateway(_ctx: TargetContext, _feed: ChangeFeed): RealtimeGateway {
  return {
    attach: () => {},
    registerRoutes: async () => {},
    broadcast: () => 0,
    stats: () => ({ connections: 0, channels: 0 }),
    close: async () => {},
  };
}
