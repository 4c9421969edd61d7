/**
 * The change feed's live subscriptions: their compiled bindings, their state (checking → live,
 * or failed / closed), the changes held while the publication and filter checks run, and the
 * claims groups — subscriptions with identical claims see identical rows, so RLS is asked once
 * per group. Groups are interned: equal claims share one object, which makes it a cheap map key.
 * No I/O: callbacks are called here, Postgres is asked elsewhere.
 */
import type { ChangeBinding, ChangeSubscription, JwtClaims, PostgresChangeData } from '../components.js';
import { parseFilter, rowMatches, type CompiledCondition } from './change-filter.js';
import type { DecodedChange } from './change-payload.js';

/** Changes held for a subscription whose publication/filter check is still running. */
export const MAX_HELD_CHANGES = 10_000;

export interface CompiledBinding {
  id: number;
  event: string;
  schema: string;
  table: string | undefined;
  filter: string | undefined;
  conditions: CompiledCondition[];
}

export interface SubscriberGroup {
  key: string;
  role: string;
  claimsJson: string;
  /** Subscriptions holding this group; it is forgotten at zero. */
  holders: number;
}

export type SubscriptionState = 'checking' | 'live' | 'failed' | 'closed';

export interface FeedSubscription {
  bindings: CompiledBinding[];
  group: SubscriberGroup;
  state: SubscriptionState;
  held: { data: PostgresChangeData; ids: number[] }[];
  callbacks: ChangeSubscription;
}

/** A subscription a change matched: which of its bindings, and its claims group when matched. */
export interface Match {
  subscription: FeedSubscription;
  ids: number[];
  group: SubscriberGroup;
}

export function claimsRole(claims: JwtClaims): string {
  return typeof claims.role === 'string' && claims.role !== '' ? claims.role : 'anon';
}

/** The client's bindings, filters parsed (values still uncast); throws FilterParseError. */
export function compileBindings(bindings: readonly ChangeBinding[]): CompiledBinding[] {
  return bindings.map((binding) => ({
    id: binding.id,
    event: String(binding.event).toUpperCase(),
    schema: binding.schema,
    table: binding.table,
    filter: binding.filter,
    conditions: parseFilter(binding.filter).map((condition) => ({ ...condition, typeName: null })),
  }));
}

export function toChangeBinding(binding: CompiledBinding): ChangeBinding {
  return {
    id: binding.id,
    event: binding.event as ChangeBinding['event'],
    schema: binding.schema,
    ...(binding.table === undefined ? {} : { table: binding.table }),
    ...(binding.filter === undefined ? {} : { filter: binding.filter }),
  };
}

export function bindingMatches(binding: CompiledBinding, change: DecodedChange): boolean {
  if (binding.event !== '*' && binding.event !== change.type) return false;
  if (binding.schema !== '*' && binding.schema !== change.relation.schema) return false;
  if (binding.table !== undefined && binding.table !== '*' && binding.table !== change.relation.table)
    return false;
  if (binding.conditions.length === 0) return true;
  // DELETE is matched against the old row, everything else against the new one.
  const tuple = change.type === 'DELETE' ? change.oldTuple : change.newTuple;
  if (!tuple) return false;
  return rowMatches(binding.conditions, (column) => {
    const index = change.relation.columnIndex.get(column);
    return index === undefined ? undefined : tuple[index];
  });
}

export class SubscriptionRegistry {
  private readonly subscriptions = new Set<FeedSubscription>();
  private readonly groups = new Map<string, SubscriberGroup>();

  /** `warn` hears about callbacks that threw (a subscriber's bug must not stop the feed). */
  constructor(private readonly warn: (message: string, error: unknown) => void) {}

  /** Registers a subscription in `checking`: changes from now on are held until it is live. */
  add(callbacks: ChangeSubscription, bindings: CompiledBinding[]): FeedSubscription {
    const subscription: FeedSubscription = {
      bindings,
      group: this.joinGroup(callbacks.claims),
      state: 'checking',
      held: [],
      callbacks,
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** New claims (a refreshed token) apply from the next batch matched. */
  updateClaims(subscription: FeedSubscription, claims: JwtClaims): void {
    if (subscription.state === 'closed' || subscription.state === 'failed') return;
    const previous = subscription.group;
    subscription.group = this.joinGroup(claims);
    this.leaveGroup(previous);
  }

  /** The checks passed: tell the subscriber and hand over what was held, in order. */
  markLive(subscription: FeedSubscription): void {
    if (subscription.state !== 'checking') return;
    subscription.state = 'live';
    this.call('onReady', () => subscription.callbacks.onReady());
    const held = subscription.held;
    subscription.held = [];
    for (const { data, ids } of held) this.deliver(subscription, data, ids);
  }

  /** Ends a subscription for good; false when it had already ended. */
  retire(subscription: FeedSubscription, state: 'closed' | 'failed'): boolean {
    if (subscription.state === 'closed' || subscription.state === 'failed') return false;
    subscription.state = state;
    subscription.held = [];
    this.subscriptions.delete(subscription);
    this.leaveGroup(subscription.group);
    return true;
  }

  /** Fails a subscription with Supabase's message for it (stays failed until the client rejoins). */
  fail(subscription: FeedSubscription, message: string): void {
    if (!this.retire(subscription, 'failed')) return;
    this.call('onError', () => subscription.callbacks.onError(message));
  }

  deliver(subscription: FeedSubscription, data: PostgresChangeData, ids: number[]): void {
    if (subscription.state === 'checking') {
      if (subscription.held.length < MAX_HELD_CHANGES) subscription.held.push({ data, ids });
      return;
    }
    if (subscription.state !== 'live') return;
    this.call('', () => subscription.callbacks.onChange(data, ids));
  }

  /** Subscriptions that are live or still being checked. */
  active(): FeedSubscription[] {
    return [...this.subscriptions].filter((s) => s.state === 'live' || s.state === 'checking');
  }

  /** Every active subscription the change matches, with the claims it has now. */
  matchesFor(change: DecodedChange): Match[] {
    const matches: Match[] = [];
    for (const subscription of this.subscriptions) {
      if (subscription.state !== 'live' && subscription.state !== 'checking') continue;
      let ids: number[] | undefined;
      for (const binding of subscription.bindings) {
        if (bindingMatches(binding, change)) (ids ??= []).push(binding.id);
      }
      // The claims as they were when matched: a concurrent token refresh applies from the next batch.
      if (ids) matches.push({ subscription, ids, group: subscription.group });
    }
    return matches;
  }

  closeAll(): void {
    for (const subscription of [...this.subscriptions]) this.retire(subscription, 'closed');
  }

  /** Distinct claims sets held right now. */
  groupCount(): number {
    return this.groups.size;
  }

  private joinGroup(claims: JwtClaims): SubscriberGroup {
    const role = claimsRole(claims);
    const claimsJson = JSON.stringify(claims);
    const key = `${role}\u0000${claimsJson}`;
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { key, role, claimsJson, holders: 0 }));
    group.holders++;
    return group;
  }

  private leaveGroup(group: SubscriberGroup): void {
    group.holders--;
    if (group.holders <= 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  private call(callback: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.warn(`change subscriber ${callback ? `${callback} ` : ''}threw`, error);
    }
  }
}
