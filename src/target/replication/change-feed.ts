/**
 * The local target's postgres_changes source. Rows come from the WAL (a temporary pgoutput slot
 * on the `supabase_realtime` publication), never from triggers or table polling, so publication
 * membership, replica identity and commit order behave as they do under Supabase Realtime.
 *
 * Per batch of committed transactions: decode, match every live subscription's bindings and
 * filters, ask Postgres which (role, claims) groups may see each inserted/updated row (RLS,
 * row-visibility.ts), then hand each subscription its changes in WAL order — and only then
 * confirm the batch's LSN to the slot.
 */
import type {
  ChangeBinding,
  ChangeFeed,
  ChangeSubscription,
  ChangeSubscriptionHandle,
  JwtClaims,
  PostgresChangeData,
  TargetContext,
} from '../components.js';
import { CanaryError } from '../../shared/index.js';
import {
  describeFilters,
  FilterParseError,
  parseFilter,
  rowMatches,
  type CompiledCondition,
  type FilterCondition,
} from './change-filter.js';
import { toJsonValue, type ColumnType } from './json-values.js';
import {
  decodePgoutput,
  formatCommitTimestamp,
  type RelationMessage,
  type ReplicaIdentity,
  type TupleValues,
} from './pgoutput-decoder.js';
import {
  createReplicationStream,
  type ReplicationFrame,
  type ReplicationStream,
} from './replication-stream.js';
import {
  accessKey,
  checkVisibility,
  keyOf,
  readTableAccess,
  type TableAccess,
  type VisibilityRequest,
  waitForCommitsVisible,
} from './row-visibility.js';

export const REALTIME_PUBLICATION = 'supabase_realtime';
const LAG_POLL_MS = 1_000;
const MAX_RESTARTS = 8;
const RESTART_DELAYS_MS = [250, 500, 1_000, 2_000, 5_000];
/** Changes held for a subscription whose publication/filter check is still running. */
const MAX_HELD_CHANGES = 10_000;

type ChangeType = PostgresChangeData['type'];

interface RelationInfo {
  oid: number;
  schema: string;
  table: string;
  replicaIdentity: ReplicaIdentity;
  columns: { name: string; type: ColumnType; isKey: boolean }[];
  columnIndex: Map<string, number>;
  /** Column positions of the primary key, in key order; empty when the table has none. */
  primaryKey: number[];
}

interface DecodedChange {
  relation: RelationInfo;
  type: ChangeType;
  newTuple: TupleValues | null;
  oldTuple: TupleValues | null;
  oldIsKeyOnly: boolean;
}

interface CommittedTransaction {
  xid: number;
  changes: DecodedChange[];
  commitTimestamp: string;
}

interface CompiledBinding {
  id: number;
  event: string;
  schema: string;
  table: string | undefined;
  filter: string | undefined;
  conditions: CompiledCondition[];
}

/**
 * Subscriptions with identical claims see identical rows, so RLS is asked once per group.
 * Groups are interned: equal claims share one object, which makes it a cheap map key.
 */
interface SubscriberGroup {
  key: string;
  role: string;
  claimsJson: string;
  /** Subscriptions holding this group; it is forgotten at zero. */
  holders: number;
}

interface FeedSubscription {
  bindings: CompiledBinding[];
  group: SubscriberGroup;
  state: 'checking' | 'live' | 'failed' | 'closed';
  held: { data: PostgresChangeData; ids: number[] }[];
  callbacks: ChangeSubscription;
}

interface Match {
  subscription: FeedSubscription;
  ids: number[];
  group: SubscriberGroup;
}

/** Supabase's wording when a binding points at something the publication does not carry. */
export function unableToSubscribeMessage(binding: ChangeBinding, conditions: FilterCondition[]): string {
  return (
    'Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given ' +
    `connect parameters: [event: ${binding.event}, schema: ${binding.schema}, table: ${binding.table ?? '*'}, ` +
    `filters: ${describeFilters(conditions)}, select: nil]`
  );
}

const CONDITION_NAMES: Record<string, string> = {
  '22P02': 'invalid_text_representation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22001': 'string_data_right_truncation',
  P0001: 'raise_exception',
};

function databaseErrorMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const name = code ? CONDITION_NAMES[code] : undefined;
  const prefix = code ? `ERROR ${code}${name ? ` (${name})` : ''} ` : '';
  return `Unable to subscribe to changes with given parameters. Exception: ${prefix}${message ?? String(error)}`;
}

function claimsRole(claims: JwtClaims): string {
  return typeof claims.role === 'string' && claims.role !== '' ? claims.role : 'anon';
}

function bindingMatches(binding: CompiledBinding, change: DecodedChange): boolean {
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

export function createChangeFeed(ctx: TargetContext): ChangeFeed {
  const logger = ctx.logger.child({ component: 'change-feed' });
  const pool = ctx.db.adminPool;
  const subscriptions = new Set<FeedSubscription>();
  const relations = new Map<number, RelationInfo>();
  const typeCache = new Map<number, ColumnType>();
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

  // ---- relations and types -------------------------------------------------------------------

  async function resolveTypes(oids: number[]): Promise<void> {
    const missing = [...new Set(oids)].filter((oid) => !typeCache.has(oid));
    if (missing.length === 0) return;
    const { rows } = await pool.query<{ oid: number; name: string; element: string | null }>(
      `select t.oid::int as oid, t.typname::text as name,
              case when t.typcategory = 'A' then e.typname::text end as element
         from pg_type t left join pg_type e on e.oid = t.typelem
        where t.oid = any($1::oid[])`,
      [missing],
    );
    for (const row of rows) typeCache.set(row.oid, { name: row.name, elementName: row.element });
  }

  async function loadRelation(message: RelationMessage): Promise<void> {
    await resolveTypes(message.columns.map((column) => column.typeOid));
    const { rows } = await pool.query<{ name: string }>(
      `select a.attname::text as name
         from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = $1 and i.indisprimary
        order by array_position(i.indkey::int2[], a.attnum)`,
      [message.relationOid],
    );
    const columns = message.columns.map((column) => ({
      name: column.name,
      isKey: column.isKey,
      type: typeCache.get(column.typeOid) ?? { name: 'text', elementName: null },
    }));
    const columnIndex = new Map(columns.map((column, index) => [column.name, index]));
    relations.set(message.relationOid, {
      oid: message.relationOid,
      schema: message.schema,
      table: message.table,
      replicaIdentity: message.replicaIdentity,
      columns,
      columnIndex,
      primaryKey: rows
        .map((row) => columnIndex.get(row.name))
        .filter((index): index is number => index !== undefined),
    });
  }

  // ---- payloads -----------------------------------------------------------------------------

  function rowObject(
    relation: RelationInfo,
    tuple: TupleValues,
    include: (index: number) => boolean,
    fallback?: TupleValues | null,
  ): Record<string, unknown> {
    const record: Record<string, unknown> = {};
    relation.columns.forEach((column, index) => {
      if (!include(index)) return;
      let value = tuple[index];
      // An unchanged TOASTed value is not resent; the old row (replica identity full) has it.
      if (value === undefined) value = fallback?.[index];
      if (value === undefined) return;
      record[column.name] = toJsonValue(value, column.type);
    });
    return record;
  }

  function buildPayload(
    change: DecodedChange,
    commitTimestamp: string,
    access: TableAccess,
  ): PostgresChangeData {
    const { relation } = change;
    const base = { schema: relation.schema, table: relation.table };
    if (relation.primaryKey.length === 0) {
      // Supabase's shape for a table without a primary key carries no rows, columns or timestamp.
      return {
        ...base,
        type: change.type,
        errors: ['Error 400: Bad Request, no primary key'],
      } as unknown as PostgresChangeData;
    }
    const selectable = (index: number): boolean =>
      access.selectableColumns.has(relation.columns[index]?.name ?? '');
    const isPrimaryKey = (index: number): boolean => relation.primaryKey.includes(index) && selectable(index);
    const data: PostgresChangeData = {
      ...base,
      commit_timestamp: commitTimestamp,
      type: change.type,
      columns: relation.columns
        .filter((_, index) => selectable(index))
        .map((column) => ({ name: column.name, type: column.type.name })),
      errors: null,
    };
    if (change.type !== 'DELETE' && change.newTuple) {
      data.record = rowObject(relation, change.newTuple, selectable, change.oldTuple);
    }
    if (change.type === 'UPDATE') {
      if (change.oldTuple && !change.oldIsKeyOnly) {
        data.old_record = rowObject(relation, change.oldTuple, selectable);
      } else if (change.oldTuple) {
        data.old_record = rowObject(
          relation,
          change.oldTuple,
          (i) => selectable(i) && !!relation.columns[i]?.isKey,
        );
      } else if (change.newTuple) {
        data.old_record = rowObject(relation, change.newTuple, isPrimaryKey);
      }
    }
    if (change.type === 'DELETE' && change.oldTuple) {
      const oldTuple = change.oldTuple;
      // The row is gone, so RLS cannot be asked; on RLS tables Supabase sends only the key.
      if (access.rlsEnabled) data.old_record = rowObject(relation, oldTuple, isPrimaryKey);
      else if (change.oldIsKeyOnly) {
        data.old_record = rowObject(relation, oldTuple, (i) => selectable(i) && !!relation.columns[i]?.isKey);
      } else data.old_record = rowObject(relation, oldTuple, selectable);
    }
    return data;
  }

  // ---- delivery -----------------------------------------------------------------------------

  function deliver(subscription: FeedSubscription, data: PostgresChangeData, ids: number[]): void {
    if (subscription.state === 'checking') {
      if (subscription.held.length < MAX_HELD_CHANGES) subscription.held.push({ data, ids });
      return;
    }
    if (subscription.state !== 'live') return;
    try {
      subscription.callbacks.onChange(data, ids);
    } catch (error) {
      logger.warn('change subscriber threw', { error: (error as Error).message });
    }
  }

  async function processTransactions(transactions: CommittedTransaction[]): Promise<void> {
    // 1. Match bindings and filters; note which roles need catalog facts for which tables.
    const perChange: { change: DecodedChange; commitTimestamp: string; matches: Match[] }[] = [];
    const rolesByRelation = new Map<number, Set<string>>();
    const checkedXids = new Set<number>();
    for (const transaction of transactions) {
      for (const change of transaction.changes) {
        const { relation } = change;
        ctx.metrics.walChanges.inc({
          table: `${relation.schema}.${relation.table}`,
          op: change.type.toLowerCase(),
        });
        const matches: Match[] = [];
        let roles = rolesByRelation.get(relation.oid);
        for (const subscription of subscriptions) {
          if (subscription.state !== 'live' && subscription.state !== 'checking') continue;
          let ids: number[] | undefined;
          for (const binding of subscription.bindings) {
            if (bindingMatches(binding, change)) (ids ??= []).push(binding.id);
          }
          if (!ids) continue;
          // The claims as they were when matched: a concurrent token refresh applies from the next batch.
          matches.push({ subscription, ids, group: subscription.group });
          if (!roles) rolesByRelation.set(relation.oid, (roles = new Set()));
          roles.add(subscription.group.role);
        }
        if (matches.length > 0) {
          perChange.push({ change, commitTimestamp: transaction.commitTimestamp, matches });
          if (change.type !== 'DELETE') checkedXids.add(transaction.xid);
        }
      }
    }
    if (perChange.length === 0) return;

    // 2. Privileges and RLS switches, read fresh for this batch — once the rows are visible at all.
    if (!(await waitForCommitsVisible(pool, [...checkedXids]))) {
      logger.warn('replication: committed rows still invisible to other sessions; checking RLS anyway', {
        xids: [...checkedXids],
      });
    }
    const access = await readTableAccess(
      pool,
      [...rolesByRelation].flatMap(([relationOid, roles]) =>
        [...roles].map((role) => ({ role, relationOid })),
      ),
    );

    // 3. One visibility request per (claims group, table), however many subscriptions share it.
    const requests: VisibilityRequest[] = [];
    const requestIndex = new Map<string, number>();
    const requestRows: Set<string>[] = [];
    const changeGroups = perChange.map(({ change, matches }) => {
      const { relation } = change;
      const primaryKey = relation.primaryKey.map((i) => change.newTuple?.[i] ?? '');
      const rowKey = keyOf(primaryKey);
      const groups = new Map<
        SubscriberGroup,
        { access: TableAccess | undefined; request: number | undefined }
      >();
      for (const { group } of matches) {
        if (groups.has(group)) continue;
        const tableAccess = access.get(accessKey(group.role, relation.oid));
        let request: number | undefined;
        const rowCheck =
          change.type !== 'DELETE' &&
          relation.primaryKey.length > 0 &&
          !!tableAccess?.roleExists &&
          tableAccess.rlsEnabled;
        if (rowCheck) {
          const key = `${group.key}\u0000${relation.oid}`;
          request = requestIndex.get(key);
          if (request === undefined) {
            request = requests.length;
            requestIndex.set(key, request);
            requestRows.push(new Set());
            requests.push({
              role: group.role,
              claimsJson: group.claimsJson,
              schema: relation.schema,
              table: relation.table,
              primaryKey: relation.primaryKey.map((i) => relation.columns[i]?.name ?? ''),
              keys: [],
            });
          }
          const rows = requestRows[request]!;
          if (!rows.has(rowKey)) {
            rows.add(rowKey);
            requests[request]!.keys.push(primaryKey);
          }
        }
        groups.set(group, { access: tableAccess, request });
      }
      return { rowKey, groups };
    });
    const visible = await checkVisibility(pool, requests, logger);
    logger.debug('replication batch', {
      changes: perChange.length,
      deliveries: perChange.reduce((sum, item) => sum + item.matches.length, 0),
      rlsChecks: requests.length,
    });

    // 4. Deliver in WAL order; subscriptions whose roles read the same columns share one payload.
    perChange.forEach(({ change, commitTimestamp, matches }, index) => {
      const { rowKey, groups } = changeGroups[index]!;
      const { relation } = change;
      const payloads = new Map<TableAccess, PostgresChangeData>();
      const decided = new Map<SubscriberGroup, PostgresChangeData | null>();
      const decide = (group: SubscriberGroup): PostgresChangeData | null => {
        const verdict = groups.get(group);
        const tableAccess = verdict?.access;
        if (!verdict || !tableAccess?.roleExists) return null;
        const keyReadable = relation.primaryKey.every((i) =>
          tableAccess.selectableColumns.has(relation.columns[i]?.name ?? ''),
        );
        if (relation.primaryKey.length > 0 && !keyReadable) return null;
        if (verdict.request !== undefined && !visible[verdict.request]?.has(rowKey)) return null;
        let data = payloads.get(tableAccess);
        if (!data) {
          data = buildPayload(change, commitTimestamp, tableAccess);
          payloads.set(tableAccess, data);
        }
        return data;
      };
      for (const match of matches) {
        let data = decided.get(match.group);
        if (data === undefined) {
          data = decide(match.group);
          decided.set(match.group, data);
        }
        if (data) deliver(match.subscription, data, match.ids);
      }
    });
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
          await loadRelation(message);
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

  async function publishedTables(): Promise<{ schema: string; table: string }[]> {
    const { rows } = await pool.query<{ schema: string; table: string }>(
      'select schemaname::text as schema, tablename::text as table from pg_publication_tables where pubname = $1',
      [REALTIME_PUBLICATION],
    );
    return rows;
  }

  function unpublishedBinding(
    subscription: FeedSubscription,
    published: { schema: string; table: string }[],
  ): CompiledBinding | undefined {
    return subscription.bindings.find((binding) => {
      if (binding.table === undefined || binding.table === '*') {
        return !published.some((row) => binding.schema === '*' || row.schema === binding.schema);
      }
      return !published.some(
        (row) => (binding.schema === '*' || row.schema === binding.schema) && row.table === binding.table,
      );
    });
  }

  const claimGroups = new Map<string, SubscriberGroup>();

  function joinGroup(claims: JwtClaims): SubscriberGroup {
    const role = claimsRole(claims);
    const claimsJson = JSON.stringify(claims);
    const key = `${role}\u0000${claimsJson}`;
    let group = claimGroups.get(key);
    if (!group) claimGroups.set(key, (group = { key, role, claimsJson, holders: 0 }));
    group.holders++;
    return group;
  }

  function leaveGroup(group: SubscriberGroup): void {
    group.holders--;
    if (group.holders <= 0 && claimGroups.get(group.key) === group) claimGroups.delete(group.key);
  }

  /** Ends a subscription for good (closed by the gateway, or failed). */
  function retire(subscription: FeedSubscription, state: 'closed' | 'failed'): boolean {
    if (subscription.state === 'closed' || subscription.state === 'failed') return false;
    subscription.state = state;
    subscription.held = [];
    subscriptions.delete(subscription);
    leaveGroup(subscription.group);
    return true;
  }

  function fail(subscription: FeedSubscription, message: string): void {
    if (!retire(subscription, 'failed')) return;
    try {
      subscription.callbacks.onError(message);
    } catch (error) {
      logger.warn('change subscriber onError threw', { error: (error as Error).message });
    }
  }

  function toChangeBinding(binding: CompiledBinding): ChangeBinding {
    return {
      id: binding.id,
      event: binding.event as ChangeBinding['event'],
      schema: binding.schema,
      ...(binding.table === undefined ? {} : { table: binding.table }),
      ...(binding.filter === undefined ? {} : { filter: binding.filter }),
    };
  }

  /** Casts each filter value to its column's type and back, so matching compares like Postgres. */
  async function compileConditions(binding: CompiledBinding): Promise<string | null> {
    if (binding.conditions.length === 0 || binding.table === undefined || binding.table === '*') return null;
    const schema = binding.schema === '*' ? 'public' : binding.schema;
    const { rows } = await pool.query<{ name: string; sql_type: string; type_name: string }>(
      `select a.attname::text as name, format_type(a.atttypid, a.atttypmod) as sql_type, t.typname::text as type_name
         from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
         join pg_type t on t.oid = a.atttypid
        where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped`,
      [schema, binding.table],
    );
    const columns = new Map(rows.map((row) => [row.name, row]));
    const compiled: CompiledCondition[] = [];
    for (const condition of binding.conditions) {
      const column = columns.get(condition.column);
      if (!column) {
        return `Unable to subscribe to changes with given parameters. Exception: ERROR P0001 (raise_exception) invalid column for filter ${condition.column}`;
      }
      try {
        // sql_type comes from the catalog (format_type), not from the client.
        const result = await pool.query<{ value: string }>(
          `select (v::${column.sql_type})::text as value from unnest($1::text[]) with ordinality as u(v, n) order by n`,
          [condition.values],
        );
        compiled.push({
          ...condition,
          values: result.rows.map((row) => row.value),
          typeName: column.type_name,
        });
      } catch (error) {
        return databaseErrorMessage(error);
      }
    }
    binding.conditions = compiled;
    return null;
  }

  async function activate(subscription: FeedSubscription): Promise<void> {
    try {
      const published = await publishedTables();
      const missing = unpublishedBinding(subscription, published);
      if (missing) {
        fail(subscription, unableToSubscribeMessage(toChangeBinding(missing), missing.conditions));
        return;
      }
      for (const binding of subscription.bindings) {
        const problem = await compileConditions(binding);
        if (problem) {
          fail(subscription, problem);
          return;
        }
      }
    } catch (error) {
      fail(subscription, databaseErrorMessage(error));
      return;
    }
    if (subscription.state !== 'checking') return;
    subscription.state = 'live';
    try {
      subscription.callbacks.onReady();
    } catch (error) {
      logger.warn('change subscriber onReady threw', { error: (error as Error).message });
    }
    const held = subscription.held;
    subscription.held = [];
    for (const { data, ids } of held) deliver(subscription, data, ids);
  }

  /** The publication fault changed: subscriptions whose table left the publication get Supabase's error. */
  async function recheckPublication(): Promise<void> {
    const published = await publishedTables();
    for (const subscription of subscriptions) {
      if (subscription.state !== 'live' && subscription.state !== 'checking') continue;
      const missing = unpublishedBinding(subscription, published);
      if (missing) fail(subscription, unableToSubscribeMessage(toChangeBinding(missing), missing.conditions));
    }
  }

  function subscribe(request: ChangeSubscription): ChangeSubscriptionHandle {
    let bindings: CompiledBinding[];
    try {
      bindings = request.bindings.map((binding) => ({
        id: binding.id,
        event: String(binding.event).toUpperCase(),
        schema: binding.schema,
        table: binding.table,
        filter: binding.filter,
        conditions: parseFilter(binding.filter).map((condition) => ({ ...condition, typeName: null })),
      }));
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
    const subscription: FeedSubscription = {
      bindings,
      group: joinGroup(request.claims),
      state: 'checking',
      held: [],
      callbacks: request,
    };
    // Registered now, so nothing committed from here on is missed; held until the checks pass.
    subscriptions.add(subscription);
    setImmediate(() => void activate(subscription));
    return {
      updateClaims(claims: JwtClaims) {
        if (subscription.state === 'closed' || subscription.state === 'failed') return;
        const previous = subscription.group;
        subscription.group = joinGroup(claims);
        leaveGroup(previous);
      },
      close() {
        retire(subscription, 'closed');
      },
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
      for (const subscription of [...subscriptions]) retire(subscription, 'closed');
      await stream?.stop();
    },
  };
}
