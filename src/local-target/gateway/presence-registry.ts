/**
 * Who is present on each topic, in Phoenix.Presence's shape: `{key: {metas: [{phx_ref, ...}]}}`.
 * One meta per tracking channel; an update is a join of the new meta (with `phx_ref_prev`) plus a
 * leave of the old one, as Phoenix reports it.
 */
import { randomBytes } from 'node:crypto';

export interface PresenceMeta {
  phx_ref: string;
  phx_ref_prev?: string;
  [field: string]: unknown;
}

export type PresenceState = Record<string, { metas: PresenceMeta[] }>;

export interface PresenceDiff {
  joins: PresenceState;
  leaves: PresenceState;
}

interface Entry {
  key: string;
  meta: PresenceMeta;
  /** The user payload as tracked, to make re-tracking the same payload a no-op. */
  payloadJson: string;
}

function newRef(): string {
  return randomBytes(9).toString('base64url');
}

function single(key: string, meta: PresenceMeta): PresenceState {
  return { [key]: { metas: [meta] } };
}

export class PresenceRegistry<Owner> {
  /** topicKey → owner (a channel) → entry */
  private readonly topics = new Map<string, Map<Owner, Entry>>();

  state(topicKey: string): PresenceState {
    const state: PresenceState = {};
    for (const entry of this.topics.get(topicKey)?.values() ?? []) {
      (state[entry.key] ??= { metas: [] }).metas.push(entry.meta);
    }
    return state;
  }

  /** Track or update; returns the diff to fan out, or null when nothing changed. */
  track(topicKey: string, owner: Owner, key: string, payload: Record<string, unknown>): PresenceDiff | null {
    let owners = this.topics.get(topicKey);
    if (!owners) {
      owners = new Map();
      this.topics.set(topicKey, owners);
    }
    const payloadJson = JSON.stringify(payload);
    const previous = owners.get(owner);
    if (previous && previous.payloadJson === payloadJson && previous.key === key) return null;
    const meta: PresenceMeta = { ...payload, phx_ref: newRef() };
    if (previous && previous.key === key) meta.phx_ref_prev = previous.meta.phx_ref;
    owners.set(owner, { key, meta, payloadJson });
    return {
      joins: single(key, meta),
      leaves: previous ? single(previous.key, previous.meta) : {},
    };
  }

  /** Untrack (explicitly, on leave or on socket loss); returns the diff, or null if not tracked. */
  untrack(topicKey: string, owner: Owner): PresenceDiff | null {
    const owners = this.topics.get(topicKey);
    const previous = owners?.get(owner);
    if (!owners || !previous) return null;
    owners.delete(owner);
    if (owners.size === 0) this.topics.delete(topicKey);
    return { joins: {}, leaves: single(previous.key, previous.meta) };
  }
}
