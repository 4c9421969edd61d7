/**
 * The publisher creates one synthetic assignment per probe event, tagged so every delivery path can
 * be correlated (`metadata.canary_event_id`) and cleaned up later (`metadata.synthetic = true`).
 *
 * - `app_endpoint`: POST the app's waiver endpoint, exactly the customer's action; the app inserts
 *   the rows and broadcasts `new_assignment` itself, and answers with what it did.
 * - `direct`: what that endpoint does after the audit's fix, with the service role: insert a session
 *   and a queued assignment through PostgREST, then broadcast `new_assignment` through Realtime's
 *   REST API (`httpSend`), the same path the app's server-side broadcast takes.
 *
 * Results never throw for a failed step: each failure is recorded (with secrets scrubbed) so the
 * probe can count "published but broadcast failed" separately from "not published".
 */
import { createClient, type SupabaseClient, type WebSocketLikeConstructor } from '@supabase/supabase-js';
import { defaultTransport, type ProjectTransport } from '../net/index.js';
import WebSocket from 'ws';
import { CanaryError, type Clock } from '../shared/index.js';
import { scrubSecrets } from './secret-scrub.js';

export interface PublisherConfig {
  mode: 'app_endpoint' | 'direct';
  supabaseUrl: string;
  anonKey: string;
  /** Required for direct mode and for cleanup. */
  serviceRoleKey?: string;
  /** Required for app_endpoint mode (e.g. `${url}/api/waiver`). */
  waiverUrl?: string;
  /** Extra headers for the waiver call, e.g. the customer's Authorization. */
  waiverHeaders?: Record<string, string>;
  schema: string;
  table: string;
  sessionsTable: string;
  broadcastChannel: string;
  broadcastEvent: string;
  clock: Clock;
  /** The project's transport (trusted CAs, shared TLS context); default the system roots'. */
  transport?: ProjectTransport;
}

export interface PublishRequest {
  eventId: string;
  probe: string;
  /** Pad the assignment's metadata (`metadata.pad`) to roughly this many bytes. */
  payloadBytes?: number;
}

export type PublishStep = 'insert' | 'broadcast' | 'endpoint';

export interface PublishResult {
  assignmentId?: string;
  sessionId?: string;
  createdAt?: string;
  /** clock.now() before the first request and after the last answer. */
  startedAt: number;
  finishedAt: number;
  /** The assignment row exists (the postgres_changes path has something to deliver). */
  ok: boolean;
  /** The `new_assignment` broadcast was accepted. */
  broadcastOk: boolean;
  /** One entry per failed step; messages never contain keys or tokens. */
  errors: { step: PublishStep; message: string }[];
}

export interface Publisher {
  publish(request: PublishRequest): Promise<PublishResult>;
  /** Delete synthetic assignments (and their sessions) created more than `olderThanMs` ago; returns how many assignments. */
  cleanup(olderThanMs: number): Promise<number>;
  close(): Promise<void>;
}

const ENDPOINT_TIMEOUT_MS = 15_000;
// Ids travel in the query string (`id=in.(…)`); 100 uuids keep it near 4 KB, under gateway URL limits.
const CLEANUP_BATCH = 100;
const CLEANUP_MAX_BATCHES = 100;

interface AssignmentMetadata {
  synthetic: true;
  canary_event_id: string;
  probe: string;
  pad?: string;
}

function metadataFor(request: PublishRequest): AssignmentMetadata {
  const metadata: AssignmentMetadata = {
    synthetic: true,
    canary_event_id: request.eventId,
    probe: request.probe,
  };
  if (request.payloadBytes !== undefined && request.payloadBytes > 0) {
    metadata.pad = 'x'.repeat(Math.min(Math.floor(request.payloadBytes), 1_048_576));
  }
  return metadata;
}

function stringOrUndefined(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    // fetch() says only "fetch failed"; the reason (ECONNREFUSED, a timeout…) is in its cause.
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const why =
      typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
    return why ? `${error.message} (${why})` : error.message;
  }
  if (error !== null && typeof error === 'object') {
    const fields = error as Record<string, unknown>;
    const parts = [fields.code, fields.message, fields.details].filter(
      (part): part is string => typeof part === 'string' && part !== '',
    );
    if (parts.length > 0) return parts.join(': ');
  }
  return String(error);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function validate(config: PublisherConfig): void {
  if (!isHttpUrl(config.supabaseUrl)) {
    throw new CanaryError('CONFIG_INVALID', `supabaseUrl "${config.supabaseUrl}" is not an http(s) URL`, {
      hint: 'use the project URL, e.g. https://<ref>.supabase.co or http://127.0.0.1:54321',
    });
  }
  if (config.mode === 'direct' && !config.serviceRoleKey) {
    throw new CanaryError('CONFIG_INVALID', 'the direct publisher needs the service-role key', {
      hint: 'set serviceRoleKey (by env var name) in the environment, or publish through the app with mode app_endpoint',
    });
  }
  if (config.mode === 'app_endpoint') {
    if (!config.waiverUrl) {
      throw new CanaryError('CONFIG_INVALID', 'the app_endpoint publisher needs the waiver URL', {
        hint: 'set waiverUrl, e.g. https://app.example.com/api/waiver, or use mode direct',
      });
    }
    if (!isHttpUrl(config.waiverUrl)) {
      throw new CanaryError('CONFIG_INVALID', `waiverUrl "${config.waiverUrl}" is not an http(s) URL`, {
        hint: 'give an absolute URL such as http://127.0.0.1:54321/api/waiver',
      });
    }
  }
}

class SupabasePublisher implements Publisher {
  private readonly config: PublisherConfig;
  private readonly secrets: string[];
  private serviceClient: SupabaseClient | null = null;
  private readonly fetch: typeof globalThis.fetch;

  constructor(config: PublisherConfig) {
    validate(config);
    this.config = config;
    this.fetch = (config.transport ?? defaultTransport()).fetch;
    this.secrets = [
      config.anonKey,
      config.serviceRoleKey ?? '',
      ...Object.values(config.waiverHeaders ?? {}),
    ];
  }

  publish(request: PublishRequest): Promise<PublishResult> {
    return this.config.mode === 'direct' ? this.publishDirect(request) : this.publishThroughApp(request);
  }

  private service(): SupabaseClient {
    if (this.serviceClient) return this.serviceClient;
    const key = this.config.serviceRoleKey;
    if (!key) {
      throw new CanaryError('CONFIG_INVALID', 'cleaning up synthetic rows needs the service-role key', {
        hint: 'set serviceRoleKey (by env var name) in the environment; synthetic rows are invisible to the anon key',
      });
    }
    let client: SupabaseClient;
    try {
      client = createClient(this.config.supabaseUrl, key, {
        // ws is Node's transport for realtime-js; only the type declarations differ from the DOM's.
        realtime: { transport: WebSocket as unknown as WebSocketLikeConstructor },
        global: { fetch: this.fetch },
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      });
    } catch (error) {
      throw new CanaryError(
        'CONFIG_INVALID',
        `cannot create the service-role client: ${this.scrub(errorText(error))}`,
        { hint: 'check supabaseUrl (an http(s) URL) in the environment config' },
      );
    }
    void client.realtime.setAuth(key);
    this.serviceClient = client;
    return client;
  }

  private async publishDirect(request: PublishRequest): Promise<PublishResult> {
    const { clock, table, sessionsTable, broadcastChannel, broadcastEvent } = this.config;
    const startedAt = clock.now();
    const errors: PublishResult['errors'] = [];
    const client = this.service();
    const metadata = metadataFor(request);

    let sessionId: string | undefined;
    let assignmentId: string | undefined;
    let createdAt: string | undefined;
    try {
      const session = await client
        .schema(this.config.schema)
        .from(sessionsTable)
        .insert({ type: 'free' })
        .select('id')
        .single();
      if (session.error) throw session.error;
      sessionId = stringOrUndefined((session.data as { id?: unknown }).id);
      const assignment = await client
        .schema(this.config.schema)
        .from(table)
        .insert({
          session_id: sessionId,
          status: 'queued',
          offered_at: new Date(clock.wallNow()).toISOString(),
          metadata,
        })
        .select('id, created_at')
        .single();
      if (assignment.error) throw assignment.error;
      const row = assignment.data as { id?: unknown; created_at?: unknown };
      assignmentId = stringOrUndefined(row.id);
      createdAt = stringOrUndefined(row.created_at);
    } catch (error) {
      errors.push({ step: 'insert', message: this.scrub(errorText(error)) });
      if (sessionId !== undefined && assignmentId === undefined) {
        // Leave no untagged session behind: nothing else would ever clean it up.
        await client
          .schema(this.config.schema)
          .from(sessionsTable)
          .delete()
          .eq('id', sessionId)
          .then(
            () => undefined,
            () => undefined,
          );
      }
      return { startedAt, finishedAt: clock.now(), ok: false, broadcastOk: false, errors };
    }

    let broadcastOk = false;
    try {
      await client.channel(broadcastChannel).httpSend(broadcastEvent, {
        assignmentId,
        sessionId,
        status: 'queued',
        createdAt,
        metadata,
      });
      broadcastOk = true;
    } catch (error) {
      errors.push({ step: 'broadcast', message: this.scrub(errorText(error)) });
    }
    return {
      ...(assignmentId !== undefined ? { assignmentId } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
      ...(createdAt !== undefined ? { createdAt } : {}),
      startedAt,
      finishedAt: clock.now(),
      ok: assignmentId !== undefined,
      broadcastOk,
      errors,
    };
  }

  private async publishThroughApp(request: PublishRequest): Promise<PublishResult> {
    const { clock, waiverUrl, waiverHeaders } = this.config;
    const startedAt = clock.now();
    const errors: PublishResult['errors'] = [];
    let body: Record<string, unknown> = {};
    try {
      const response = await this.fetch(waiverUrl as string, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...waiverHeaders },
        body: JSON.stringify({ sessionType: 'free', metadata: metadataFor(request) }),
        signal: AbortSignal.timeout(ENDPOINT_TIMEOUT_MS),
      });
      const text = await response.text();
      try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
      } catch {
        // Not JSON: only the status and the raw text can explain what happened.
      }
      if (!response.ok) {
        const said = [stringOrUndefined(body.error), stringOrUndefined(body.message)]
          .filter(Boolean)
          .join(': ');
        const detail = said || text.slice(0, 200);
        errors.push({
          step: 'endpoint',
          message: this.scrub(`HTTP ${response.status}${detail ? `: ${detail}` : ''}`),
        });
        return { startedAt, finishedAt: clock.now(), ok: false, broadcastOk: false, errors };
      }
    } catch (error) {
      errors.push({ step: 'endpoint', message: this.scrub(errorText(error)) });
      return { startedAt, finishedAt: clock.now(), ok: false, broadcastOk: false, errors };
    }
    const finishedAt = clock.now();
    const assignmentId = stringOrUndefined(body.assignmentId);
    const sessionId = stringOrUndefined(body.sessionId);
    const createdAt = stringOrUndefined(body.createdAt);
    const broadcastOk = body.broadcast === true || body.broadcast === 'ok' || body.broadcast === 'sent';
    if (assignmentId === undefined) {
      errors.push({ step: 'endpoint', message: 'the waiver endpoint answered without an assignmentId' });
    }
    if (!broadcastOk) {
      const said = stringOrUndefined(body.broadcastError) ?? JSON.stringify(body.broadcast ?? null);
      errors.push({ step: 'broadcast', message: this.scrub(`the app reported its broadcast as ${said}`) });
    }
    return {
      ...(assignmentId !== undefined ? { assignmentId } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
      ...(createdAt !== undefined ? { createdAt } : {}),
      startedAt,
      finishedAt,
      ok: assignmentId !== undefined,
      broadcastOk,
      errors,
    };
  }

  async cleanup(olderThanMs: number): Promise<number> {
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
      throw new CanaryError(
        'CONFIG_INVALID',
        `cleanup retention ${olderThanMs} ms is not a non-negative number`,
        {
          hint: 'give the retention as a duration such as 24h',
        },
      );
    }
    const { table, sessionsTable, clock } = this.config;
    const client = this.service();
    const cutoff = new Date(clock.wallNow() - olderThanMs).toISOString();
    let removed = 0;
    for (let batch = 0; batch < CLEANUP_MAX_BATCHES; batch += 1) {
      const found = await client
        .schema(this.config.schema)
        .from(table)
        .select('id, session_id')
        .eq('metadata->>synthetic', 'true')
        .lt('created_at', cutoff)
        .order('created_at', { ascending: true })
        .limit(CLEANUP_BATCH);
      if (found.error) throw this.cleanupError('find', found.error);
      const rows = (found.data ?? []) as { id: string; session_id: string | null }[];
      if (rows.length === 0) break;
      const deleted = await client
        .schema(this.config.schema)
        .from(table)
        .delete()
        .in(
          'id',
          rows.map((row) => row.id),
        )
        .eq('metadata->>synthetic', 'true')
        .select('id');
      if (deleted.error) throw this.cleanupError('delete assignments from', deleted.error);
      removed += deleted.data?.length ?? 0;
      const sessionIds = [
        ...new Set(rows.map((row) => row.session_id).filter((id): id is string => id !== null)),
      ];
      if (sessionIds.length > 0) {
        const sessions = await client
          .schema(this.config.schema)
          .from(sessionsTable)
          .delete()
          .in('id', sessionIds);
        if (sessions.error) throw this.cleanupError('delete sessions from', sessions.error);
      }
      if (rows.length < CLEANUP_BATCH) break;
    }
    return removed;
  }

  private cleanupError(action: string, error: unknown): CanaryError {
    return new CanaryError(
      'TARGET_UNREACHABLE',
      `cleanup could not ${action} the synthetic rows: ${this.scrub(errorText(error))}`,
      { hint: 'check that the service-role key belongs to this project and the tables exist' },
    );
  }

  async close(): Promise<void> {
    const client = this.serviceClient;
    this.serviceClient = null;
    if (!client) return;
    await client.removeAllChannels();
    await client.realtime.disconnect();
  }

  private scrub(text: string): string {
    return scrubSecrets(text, this.secrets);
  }
}

export function createPublisher(config: PublisherConfig): Publisher {
  return new SupabasePublisher(config);
}
