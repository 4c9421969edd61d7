/**
 * The local target's postgres_changes source. Rows come from the WAL (a temporary pgoutput slot
 * on the `supabase_realtime` publication), never from triggers or table polling, so publication
 * membership, replica identity and commit order behave as they do under Supabase Realtime.
 *
 * Per batch of committed transactions: decode, match every live subscription's bindings and
 * filters, ask Postgres which (role, claims) groups may see each inserted/updated row (RLS,
 * row-visibility.ts), then hand each subscription its changes in WAL order — and only then
 * confirm the batch's LSN to the slot. The decisions are pure pieces beside this file (the
 * relation cache, the change payload, the subscription registry, the batch-visibility planner);
 * this shell does the I/O: the replication connection and its restarts, the catalog and RLS
 * queries, the pause and publication faults, and lag polling.
 */
import type {
  ChangeFeed,
  ChangeSubscription,
  ChangeSubscriptionHandle,
  JwtClaims,
  TargetContext,
} from '../components.js';
import { CanaryError } from '../../shared/index.js';
import { matchBatch, planDeliveries, planVisibility } from './batch-visibility.js';
import { FilterParseError } from './change-filter.js';
import type { CommittedTransaction } from './change-payload.js';
import { decodePgoutput, formatCommitTimestamp } from './pgoutput-decoder.js';
import { createRelationCache } from './relation-cache.js';
import {
  createReplicationStream,
  type ReplicationFrame,
  type ReplicationStream,
} from './replication-stream.js';
import { checkVisibility, readTableAccess, waitForCommitsVisible } from './row-visibility.js';
import {
  compileConditions,
  databaseErrorMessage,
  publishedTables,
  REALTIME_PUBLICATION,
  unableToSubscribeMessage,
  unpublishedBinding,
} from './subscription-checks.js';
import {
  compileBindings,
  SubscriptionRegistry,
  toChangeBinding,
  type CompiledBinding,
  type FeedSubscription,
} from './subscription-registry.js';

export { REALTIME_PUBLICATION, unableToSubscribeMessage };

const LAG_POLL_MS = 1_000;
const MAX_RESTARTS = 8;
const RESTART_DELAYS_MS = [250, 500, 1_000, 2_000, 5_000];

export function createChangeFeed(ctx: TargetContext): ChangeFeed {
  const logger = ctx.logger.child({ component: 'change-feed' });
  const pool = ctx.db.adminPool;
  const registry = new SubscriptionRegistry((message, error) =>
    logger.warn(message, { error: (error as Error).message }),
  );
  const relations = createRelationCache(pool);
  const slotPrefix = `canary_feed_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  let slotName = slotPrefix;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  /** Set once the first stream is up; failures before that are start() errors, not restarts. */
  let running = false;
  let stream: ReplicationStream | undefined;
  let openTransaction: CommittedTransaction | null = null;
  let lagTimer: NodeJS.Timeout | undefined;
  let unsubscribeFaults: (() => void) | undefined;
  let paused = false;
  let publicationMissing = ctx.faults.current.publicationMissing;
  let stopped = false;

  // ---- a batch: match (pure), ask Postgres, deliver (pure plan) ---------------------------------

  async function processTransactions(transactions: CommittedTransaction[]): Promise<void> {
    for (const transaction of transactions) {
      for (const { relation, type } of transaction.changes) {
        ctx.metrics.walChanges.inc({ table: `${relation.schema}.${relation.table}`, op: type.toLowerCase() });
      }
    }
    const batch = matchBatch(transactions, (change) => registry.matchesFor(change));
    if (batch.changes.length === 0) return;
    // Privileges and RLS switches, read fresh for this batch — once the rows are visible at all.
    if (!(await waitForCommitsVisible(pool, batch.xidsToCheck))) {
      logger.warn('replication: committed rows still invisible to other sessions; checking RLS anyway', {
        xids: batch.xidsToCheck,
      });
    }
    const access = await readTableAccess(pool, batch.accessQueries);
    const plan = planVisibility(batch.changes, access);
    const visible = await checkVisibility(pool, plan.requests, logger);
    logger.debug('replication batch', {
      changes: batch.changes.length,
      deliveries: batch.changes.reduce((sum, item) => sum + item.matches.length, 0),
      rlsChecks: plan.requests.length,
    });
    for (const delivery of planDeliveries(batch.changes, plan, visible)) {
      registry.deliver(delivery.subscription, delivery.data, delivery.ids);
    }
  }

  async function consume(frames: ReplicationFrame[]): Promise<void> {
    const committed: CommittedTransaction[] = [];
    let confirmable: bigint | undefined;
    for (const frame of frames) {
      if (frame.kind === 'keepalive') {
        // Everything before a keepalive outside a transaction has been received: safe to confirm.
        if (!openTransaction && (confirmable === undefined || frame.walEnd > confirmable))
          confirmable = frame.walEnd;
        continue;
      }
      const message = decodePgoutput(frame.message);
      switch (message.tag) {
        case 'begin':
          openTransaction = { xid: message.xid, changes: [], commitTimestamp: '' };
          break;
        case 'relation':
          await relations.load(message);
          break;
        case 'insert':
        case 'update':
        case 'delete': {
          const relation = relations.get(message.relationOid);
          if (!relation || !openTransaction) {
            logger.warn('replication: change outside a transaction or for an unknown relation', {
              relation: message.relationOid,
            });
            break;
          }
          openTransaction.changes.push({
            relation,
            type: message.tag === 'insert' ? 'INSERT' : message.tag === 'update' ? 'UPDATE' : 'DELETE',
            newTuple: message.tag === 'delete' ? null : message.newTuple,
            oldTuple: message.tag === 'insert' ? null : message.oldTuple,
            oldIsKeyOnly: message.tag === 'insert' ? false : message.oldIsKeyOnly,
          });
          break;
        }
        case 'commit':
          if (openTransaction) {
            openTransaction.commitTimestamp = formatCommitTimestamp(message.commitTimeMicros);
            if (openTransaction.changes.length > 0) committed.push(openTransaction);
          }
          openTransaction = null;
          if (confirmable === undefined || message.endLsn > confirmable) confirmable = message.endLsn;
          break;
        default:
          break;
      }
    }
    if (committed.length > 0) await processTransactions(committed);
    if (confirmable !== undefined) stream?.confirm(confirmable);
  }

  // ---- subscriptions ------------------------------------------------------------------------

  function failUnpublished(subscription: FeedSubscription, missing: CompiledBinding): void {
    registry.fail(subscription, unableToSubscribeMessage(toChangeBinding(missing), missing.conditions));
  }

  async function activate(subscription: FeedSubscription): Promise<void> {
    try {
      const missing = unpublishedBinding(subscription.bindings, await publishedTables(pool));
      if (missing) return failUnpublished(subscription, missing);
      for (const binding of subscription.bindings) {
        const problem = await compileConditions(pool, binding);
        if (problem) return registry.fail(subscription, problem);
      }
    } catch (error) {
      return registry.fail(subscription, databaseErrorMessage(error));
    }
    registry.markLive(subscription);
  }

  /** The publication fault changed: subscriptions whose table left the publication get Supabase's error. */
  async function recheckPublication(): Promise<void> {
    const published = await publishedTables(pool);
    for (const subscription of registry.active()) {
      const missing = unpublishedBinding(subscription.bindings, published);
      if (missing) failUnpublished(subscription, missing);
    }
  }

  function subscribe(request: ChangeSubscription): ChangeSubscriptionHandle {
    let bindings: CompiledBinding[];
    try {
      bindings = compileBindings(request.bindings);
    } catch (error) {
      const message = error instanceof FilterParseError ? error.message : String(error);
      setImmediate(() => {
        try {
          request.onError(message);
        } catch (callbackError) {
          logger.warn('change subscriber onError threw', { error: (callbackError as Error).message });
        }
      });
      return { updateClaims: () => {}, close: () => {} };
    }
    // Registered now, so nothing committed from here on is missed; held until the checks pass.
    const subscription = registry.add(request, bindings);
    setImmediate(() => void activate(subscription));
    return {
      updateClaims: (claims: JwtClaims) => registry.updateClaims(subscription, claims),
      close: () => void registry.retire(subscription, 'closed'),
    };
  }

  // ---- the replication connection ------------------------------------------------------------

  async function openStream(): Promise<void> {
    const next = createReplicationStream({
      db: ctx.db,
      slotName,
      publication: REALTIME_PUBLICATION,
      logger,
      consume,
      onBatchError: (error) =>
        logger.error('replication batch failed; its changes are lost', { error: error.message }),
      onFatal: (error) => scheduleRestart(error),
    });
    stream = next;
    await next.start();
    if (paused) next.pause();
  }

  /**
   * The slot is temporary, so a lost connection loses the changes committed until a new slot
   * exists; delivery resumes from there. Bounded: after MAX_RESTARTS in a row, postgres_changes stop.
   */
  function scheduleRestart(error: Error): void {
    if (stopped || !running || restartTimer) return;
    if (restarts >= MAX_RESTARTS) {
      logger.error('replication connection lost for good; postgres_changes stop', { error: error.message });
      return;
    }
    const delayMs = RESTART_DELAYS_MS[Math.min(restarts, RESTART_DELAYS_MS.length - 1)] ?? 1_000;
    restarts++;
    logger.warn('replication connection lost; reconnecting with a new slot', {
      error: error.message,
      attempt: restarts,
      delayMs,
    });
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void (async () => {
        const previous = stream;
        await previous?.stop().catch(() => undefined);
        if (stopped) return;
        openTransaction = null;
        relations.clear();
        slotName = `${slotPrefix}_${restarts}`;
        try {
          await openStream();
          restarts = 0;
          logger.info('replication reconnected', { slot: slotName });
        } catch (restartError) {
          scheduleRestart(restartError as Error);
        }
      })();
    }, delayMs);
    restartTimer.unref();
  }

  // ---- faults and lag -----------------------------------------------------------------------

  function applyPause(shouldPause: boolean): void {
    if (shouldPause === paused) return;
    paused = shouldPause;
    if (shouldPause) {
      ctx.faults.record('replication_paused', 'replication');
      stream?.pause();
      logger.info('replication paused by fault');
    } else {
      stream?.resume();
      logger.info('replication resumed');
    }
  }

  async function pollLag(): Promise<void> {
    try {
      const { rows } = await pool.query<{ lag: string | null }>(
        `select (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag
           from pg_replication_slots where slot_name = $1`,
        [slotName],
      );
      const lag = rows[0]?.lag;
      if (lag !== undefined && lag !== null) ctx.metrics.replicationLagBytes.set(Math.max(0, Number(lag)));
    } catch (error) {
      if (!stopped) logger.debug('replication lag poll failed', { error: (error as Error).message });
    }
  }

  return {
    async start() {
      const { rows } = await pool.query<{ wal_level: string }>('select current_setting($1) as wal_level', [
        'wal_level',
      ]);
      if (rows[0]?.wal_level !== 'logical') {
        throw new CanaryError(
          'TARGET_START_FAILED',
          `Postgres runs with wal_level=${rows[0]?.wal_level ?? '?'}`,
          {
            hint: 'start the target database with -c wal_level=logical; postgres_changes are read from the WAL',
          },
        );
      }
      try {
        await openStream();
        running = true;
      } catch (error) {
        await stream?.stop().catch(() => undefined);
        throw new CanaryError(
          'TARGET_START_FAILED',
          `could not start logical replication: ${(error as Error).message}`,
          {
            hint: 'the database needs wal_level=logical and a free replication slot and WAL sender (max_replication_slots, max_wal_senders)',
            cause: error,
          },
        );
      }
      unsubscribeFaults = ctx.faults.onChange((settings) => {
        applyPause(settings.replicationPaused);
        if (settings.publicationMissing !== publicationMissing) {
          publicationMissing = settings.publicationMissing;
          void recheckPublication().catch((error: Error) =>
            logger.warn('publication re-check failed', { error: error.message }),
          );
        }
      });
      applyPause(ctx.faults.current.replicationPaused);
      lagTimer = setInterval(() => void pollLag(), LAG_POLL_MS);
      lagTimer.unref();
      await pollLag();
    },
    subscribe,
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribeFaults?.();
      if (lagTimer) clearInterval(lagTimer);
      if (restartTimer) clearTimeout(restartTimer);
      registry.closeAll();
      await stream?.stop();
    },
  };
}
