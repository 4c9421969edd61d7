/**
 * The polling fallback, as the mechanic dashboard does it: GET the queue API with the mechanic's
 * token every pollInterval. Each synthetic row seen for the first time is a delivery on the
 * `polling` path (keyed by metadata.canary_event_id, else the row id). Counts requests by status
 * class, responses whose headers allow caching (a stale-queue risk), and staleness: how far
 * behind the newest synthetic assignment that should already be in the queue a poll was.
 */
import type { CanaryMetrics } from '../metrics/index.js';
import { silentLogger, type Clock, type Logger } from '../shared/index.js';

export interface PolledDelivery {
  keys: { eventId?: string; assignmentId?: string };
  receivedAt: number;
}

export interface PollingWatcherOptions {
  env: string;
  probe: string;
  queueUrl: string;
  /** Sent as `Authorization: Bearer …` (and `apikey` when given); a function reads the current one of a renewing session. */
  token: string | (() => string);
  apiKey?: string;
  intervalMs: number;
  clock: Clock;
  metrics?: CanaryMetrics;
  logger?: Logger;
  /** The project's fetch (trusted CAs, shared TLS context); default the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Request timeout; a poll slower than this counts as status `error`. */
  timeoutMs?: number;
  onDelivery(delivery: PolledDelivery): void;
  /**
   * The queue API refused the mechanic's token (401), or accepts it again: the poller is out for
   * auth, so what it misses is not a lost delivery.
   */
  onAuthChange?(refused: boolean, at: number): void;
  /** Published events the queue should already contain: [eventId, publishedAt] newest last. */
  expectedEvents?: () => readonly { eventId: string; assignmentId?: string; publishedAt: number }[];
}

/** How many already-seen keys a watcher remembers (queue rows repeat on every poll). */
const SEEN_LIMIT = 10_000;

export class PollingWatcher {
  private timer: NodeJS.Timeout | undefined;
  private readonly seen = new Set<string>();
  private inFlight: Promise<void> | undefined;
  private stopped = true;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private lastErrorLogged = 0;
  private authRefused = false;
  polls = 0;

  constructor(private readonly options: PollingWatcherOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.inFlight?.catch(() => {});
  }

  /** One poll now (the timer calls this; tests may too). */
  async pollOnce(): Promise<void> {
    const o = this.options;
    const sentAt = o.clock.now();
    const labels = { env: o.env, probe: o.probe };
    const headers: Record<string, string> = {
      authorization: `Bearer ${typeof o.token === 'function' ? o.token() : o.token}`,
      accept: 'application/json',
    };
    if (o.apiKey) headers.apikey = o.apiKey;
    let status: string;
    try {
      const response = await (o.fetch ?? fetch)(o.queueUrl, {
        headers,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(o.timeoutMs ?? 10_000)]),
      });
      const receivedAt = o.clock.now();
      status = `${Math.floor(response.status / 100)}xx`;
      this.noteAuth(response.status === 401, receivedAt);
      if (isCacheable(response.headers.get('cache-control'))) o.metrics?.pollCacheable.inc(labels);
      if (response.ok) {
        const body = (await response.json()) as unknown;
        const rows = rowsOf(body);
        const present = new Set<string>();
        for (const row of rows) {
          const keys = keysOf(row);
          if (keys.eventId) present.add(keys.eventId);
          if (keys.assignmentId) present.add(keys.assignmentId);
          const seenKey = keys.eventId ?? keys.assignmentId;
          if (!seenKey || this.seen.has(seenKey)) continue;
          this.remember(seenKey);
          o.onDelivery({ keys, receivedAt });
        }
        this.observeStaleness(present, sentAt);
      } else {
        this.logOnce(`queue API answered ${response.status}`, { status: response.status });
        await response.body?.cancel().catch(() => {});
      }
    } catch (error) {
      // Aborted by stop(): not a failed poll.
      if (this.abort.signal.aborted) return;
      status = 'error';
      this.logOnce('queue API request failed', { error: (error as Error).message });
    }
    this.polls += 1;
    o.metrics?.pollRequests.inc({ ...labels, status });
  }

  private noteAuth(refused: boolean, at: number): void {
    if (refused === this.authRefused) return;
    this.authRefused = refused;
    this.options.onAuthChange?.(refused, at);
  }

  private observeStaleness(present: Set<string>, sentAt: number): void {
    const expected = this.options.expectedEvents?.() ?? [];
    // The newest event published before this request went out must be in the snapshot.
    let newest: { eventId: string; assignmentId?: string; publishedAt: number } | undefined;
    for (const event of expected) {
      if (event.publishedAt <= sentAt && (!newest || event.publishedAt > newest.publishedAt)) newest = event;
    }
    if (!newest) return;
    const contained =
      present.has(newest.eventId) || (newest.assignmentId !== undefined && present.has(newest.assignmentId));
    const staleMs = contained ? 0 : sentAt - newest.publishedAt;
    this.options.metrics?.pollStaleness.observe(
      { env: this.options.env, probe: this.options.probe },
      Math.max(0, staleMs) / 1000,
    );
  }

  private remember(key: string): void {
    this.seen.add(key);
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.pollOnce().finally(() => {
        this.inFlight = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
  }

  private logOnce(message: string, fields: Record<string, unknown>): void {
    const now = this.options.clock.now();
    if (now - this.lastErrorLogged < 30_000) return;
    this.lastErrorLogged = now;
    this.logger.warn(message, { env: this.options.env, probe: this.options.probe, ...fields });
  }
}

/** Caching is allowed unless the headers say no-store, no-cache, private or max-age=0. */
export function isCacheable(cacheControl: string | null): boolean {
  if (cacheControl === null) return false;
  const value = cacheControl.toLowerCase();
  if (/no-store|no-cache|private/.test(value)) return false;
  const maxAge = /(?:s-)?max-age=(\d+)/.exec(value);
  return maxAge !== null && Number(maxAge[1]) > 0;
}

/** The queue's rows: a bare array, or the first array under a common envelope key. */
export function rowsOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    for (const key of ['assignments', 'queue', 'items', 'data', 'rows']) {
      if (Array.isArray(record[key])) return record[key];
    }
  }
  return [];
}

/** Correlation keys of one queue row: metadata.canary_event_id and the assignment id. */
export function keysOf(row: unknown): { eventId?: string; assignmentId?: string } {
  if (!row || typeof row !== 'object') return {};
  const record = row as Record<string, unknown>;
  const metadata =
    record.metadata && typeof record.metadata === 'object'
      ? (record.metadata as Record<string, unknown>)
      : {};
  const eventId = metadata.canary_event_id ?? record.canary_event_id ?? record.canaryEventId;
  const assignmentId = record.assignment_id ?? record.assignmentId ?? record.id;
  const keys: { eventId?: string; assignmentId?: string } = {};
  if (typeof eventId === 'string') keys.eventId = eventId;
  if (typeof assignmentId === 'string' || typeof assignmentId === 'number')
    keys.assignmentId = String(assignmentId);
  return keys;
}
