/**
 * The `phx_join` payload as realtime-js sends it: `config.broadcast`, `config.presence`,
 * `config.postgres_changes` and `config.private`, plus an optional `access_token`. Like Supabase,
 * a malformed config never fails the join: bad fields fall back to their defaults.
 */
import type { ChangeBinding } from '../components.js';
import { MAX_REPLAY_LIMIT, type ReplayRequest } from './channel-authorization.js';

export interface JoinConfig {
  broadcastSelf: boolean;
  broadcastAck: boolean;
  presenceKey: string;
  presenceEnabled: boolean;
  isPrivate: boolean;
  /** `config.broadcast.replay` ({ since: unix ms, limit ≤ 25 }), or null when absent or malformed. */
  replay: ReplayRequest | null;
  /** Each binding exactly as the client sent it, echoed back with an `id`. */
  requestedBindings: Record<string, unknown>[];
  /** Bindings the change feed can serve (same order, same ids). */
  bindings: ChangeBinding[];
  /** Bindings that cannot be served, described for the `system` error message. */
  invalidBindings: string[];
  /** The join's own token, or null to use the socket's (absent, empty or an `sb_` key). */
  accessToken: string | null;
}

const CHANGE_EVENTS = ['INSERT', 'UPDATE', 'DELETE', '*'] as const;
type ChangeEvent = (typeof CHANGE_EVENTS)[number];

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function asOptionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Server id of a binding. The real server uses `:erlang.phash2` of the params map, so identical
 * bindings share an id; FNV-1a over canonical JSON gives the same property. Never 0: the client
 * treats a falsy id as "no id".
 */
export function bindingId(binding: Record<string, unknown>): number {
  const canonical = JSON.stringify(
    Object.keys(binding)
      .filter((key) => key !== 'id')
      .sort()
      .map((key) => [key, binding[key]]),
  );
  let hash = 0x811c9dc5;
  for (let index = 0; index < canonical.length; index++) {
    hash ^= canonical.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const id = hash & 0x7ffffff; // phash2's default range is 0..2^27-1
  return id === 0 ? 1 : id;
}

function describeBinding(binding: Record<string, unknown>): string {
  return `[event: ${String(binding.event)}, schema: ${String(binding.schema)}, table: ${String(
    binding.table ?? '*',
  )}, filters: ${String(binding.filter ?? '[]')}]`;
}

function parseReplay(value: unknown): ReplayRequest | null {
  const replay = asRecord(value);
  if (typeof replay.since !== 'number' || !Number.isFinite(replay.since) || replay.since < 0) return null;
  const limit =
    typeof replay.limit === 'number' && Number.isFinite(replay.limit)
      ? Math.min(MAX_REPLAY_LIMIT, Math.max(1, Math.floor(replay.limit)))
      : MAX_REPLAY_LIMIT;
  return { since: replay.since, limit };
}

export function parseJoinPayload(payload: unknown): JoinConfig {
  const root = asRecord(payload);
  const config = asRecord(root.config);
  const broadcast = asRecord(config.broadcast);
  const presence = asRecord(config.presence);
  const rawToken = root.access_token ?? root.user_token;
  const accessToken =
    typeof rawToken === 'string' && rawToken !== '' && !rawToken.startsWith('sb_') ? rawToken : null;

  const requestedBindings: Record<string, unknown>[] = [];
  const bindings: ChangeBinding[] = [];
  const invalidBindings: string[] = [];
  const rawBindings = Array.isArray(config.postgres_changes) ? config.postgres_changes : [];
  for (const raw of rawBindings) {
    const binding = asRecord(raw);
    const id = bindingId(binding);
    requestedBindings.push({ ...binding, id });
    const event = typeof binding.event === 'string' ? binding.event.toUpperCase() : '';
    const table = asOptionalString(binding.table);
    // `table` alone implies the public schema, like the real server.
    const schema = asOptionalString(binding.schema) ?? (table ? 'public' : undefined);
    if (!CHANGE_EVENTS.includes(event as ChangeEvent) || schema === undefined) {
      invalidBindings.push(describeBinding(binding));
      continue;
    }
    const filter = asOptionalString(binding.filter);
    bindings.push({
      id,
      event: event as ChangeEvent,
      schema,
      ...(table === undefined ? {} : { table }),
      ...(filter === undefined ? {} : { filter }),
    });
  }

  const presenceKey = typeof presence.key === 'string' ? presence.key : '';
  return {
    broadcastSelf: broadcast.self === true,
    broadcastAck: broadcast.ack === true,
    presenceKey,
    // Clients that predate the `enabled` flag (it is absent) always had presence.
    presenceEnabled: presence.enabled === undefined ? true : presence.enabled === true,
    isPrivate: config.private === true,
    replay: parseReplay(broadcast.replay),
    requestedBindings,
    bindings,
    invalidBindings,
    accessToken,
  };
}
