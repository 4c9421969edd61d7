/**
 * How the local target's parts plug together. startTarget() builds a TargetContext, creates the
 * change feed (WAL → postgres_changes) and the Realtime gateway, and hands the gateway's broadcast
 * to the app's waiver endpoint. Each part depends only on these interfaces.
 */
import type http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Clock, Logger } from '../shared/index.js';
import type { FaultSettings, FaultSettingsInput, FaultKind } from './faults/fault-settings.js';
import type { TargetMetrics, TargetPath } from './target-metrics.js';
import type { ApiKeyKind, TokenComponent } from './auth/key-ring.js';
import type { JwtMode, SigningKeys } from './auth/signing-keys.js';

/** Claims of a verified Supabase-style JWT. `role` and `exp` are always present once verified. */
export interface JwtClaims {
  role: string;
  exp: number;
  sub?: string;
  iat?: number;
  iss?: string;
  [claim: string]: unknown;
}

/** Realtime plan limits; defaults are Supabase's Free plan. */
export interface PlanLimits {
  maxConcurrentConnections: number; // 200
  maxJoinsPerSecond: number; // 100
  maxMessagesPerSecond: number; // 100
  maxChannelsPerConnection: number; // 100
  maxBroadcastPayloadBytes: number; // 256 KB
}

export const FREE_PLAN_LIMITS: PlanLimits = {
  maxConcurrentConnections: 200,
  maxJoinsPerSecond: 100,
  maxMessagesPerSecond: 100,
  maxChannelsPerConnection: 100,
  maxBroadcastPayloadBytes: 256 * 1024,
};

export interface KeyRing {
  readonly jwtMode: JwtMode;
  /** The legacy HS256 secret; undefined in `asymmetric` mode. */
  readonly secret: string | undefined;
  /** The key this project accepts for anon: the legacy JWT key, or the publishable key when there is none. */
  readonly anonKey: string;
  /** The key this project accepts for service_role: the legacy JWT key, or the secret key when there is none. */
  readonly serviceRoleKey: string;
  /** Legacy `anon` / `service_role` JWT API keys (HS256); undefined in `asymmetric` mode. */
  readonly legacyAnonKey: string | undefined;
  readonly legacyServiceRoleKey: string | undefined;
  /** `sb_publishable_…`: the anon role, safe in browsers. */
  readonly publishableKey: string;
  /** `sb_secret_…`: the service_role role, refused from browsers. */
  readonly secretKey: string;
  readonly signingKeys: SigningKeys;
  /** Which of this project's API keys `key` is, or null. */
  apiKeyKind(key: string): ApiKeyKind | null;
  /** Mint a user token: role `authenticated`, `sub` = userId, signed with the current key. */
  mintUserToken(
    userId: string,
    options?: { expiresInSeconds?: number; claims?: Record<string, unknown> },
  ): Promise<string>;
  /**
   * The one verifier: API keys, ES256 tokens against the signing keys, HS256 against the legacy
   * secret; `exp` and `role` required. Throws a KeyError with Supabase's wording.
   */
  verify(token: string, component?: TokenComponent): Promise<JwtClaims>;
}

export interface DatabaseHandle {
  /** Superuser pool (the target's internal connection; bypasses RLS). */
  readonly adminPool: pg.Pool;
  /** postgres://… URL users are given (superuser on the local target). */
  readonly databaseUrl: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  stop(): Promise<void>;
}

export interface FaultController {
  readonly current: FaultSettings;
  /** Merge a partial update (validated); returns the new settings. SQL faults are applied here. */
  update(patch: FaultSettingsInput): Promise<FaultSettings>;
  /** Back to no faults (SQL faults reverted). */
  reset(): Promise<FaultSettings>;
  /** Count one injected fault in target_faults_injected_total. */
  record(kind: FaultKind, path: TargetPath | 'connection' | 'replication' | 'auth'): void;
  /** Subscribe to settings changes (the gateway re-arms its disconnect timer, etc.). */
  onChange(listener: (settings: FaultSettings) => void): () => void;
  /** Random delay for a path fault: delayMs ± jitterMs, ≥ 0. */
  sampleDelay(fault: { delayMs: number; jitterMs: number }): number;
  /** True with probability `rate` (deterministic when the target was given a seed). */
  roll(rate: number): boolean;
}

export interface TargetContext {
  readonly db: DatabaseHandle;
  readonly keys: KeyRing;
  readonly faults: FaultController;
  readonly metrics: TargetMetrics;
  readonly limits: PlanLimits;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** A postgres_changes binding as the client sent it in phx_join, plus the server id. */
export interface ChangeBinding {
  id: number;
  event: 'INSERT' | 'UPDATE' | 'DELETE' | '*';
  schema: string;
  table?: string;
  filter?: string;
}

/** The `data` object of a postgres_changes message, exactly as Supabase sends it. */
export interface PostgresChangeData {
  schema: string;
  table: string;
  commit_timestamp: string;
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  columns: { name: string; type: string }[];
  record?: Record<string, unknown>;
  old_record?: Record<string, unknown>;
  errors: string[] | null;
}

/** One channel's postgres_changes interest, registered with the change feed after join. */
export interface ChangeSubscription {
  bindings: ChangeBinding[];
  /** Claims the change is authorised with (RLS runs as claims.role with request.jwt.claims). */
  claims: JwtClaims;
  /** Called once the subscription is live; the gateway then sends the `system` ok message. */
  onReady(): void;
  /** A change this subscriber may see, with the ids of every binding it matched. Commit order. */
  onChange(data: PostgresChangeData, ids: number[]): void;
  /** The subscription failed (e.g. table not in the publication); gateway sends a `system` error. */
  onError(message: string): void;
}

export interface ChangeSubscriptionHandle {
  /** Switch claims (access_token refresh). */
  updateClaims(claims: JwtClaims): void;
  close(): void;
}

export interface ChangeFeed {
  start(): Promise<void>;
  subscribe(subscription: ChangeSubscription): ChangeSubscriptionHandle;
  stop(): Promise<void>;
}

export interface RealtimeGateway {
  /** Take over websocket upgrades on /realtime/v1/websocket. */
  attach(server: http.Server): void;
  /** REST broadcast routes under /realtime/v1/api. */
  registerRoutes(app: FastifyInstance): Promise<void>;
  /** Server-side broadcast to every subscriber of realtime:<channel> (subject to broadcast faults). */
  broadcast(channel: string, event: string, payload: unknown): number;
  stats(): { connections: number; channels: number };
  /** Close every socket (code 1001) and stop timers. */
  close(): Promise<void>;
}

/** How the app's waiver endpoint announces a new assignment (the seed's broadcastSessionAssignment). */
export type AssignmentBroadcaster = (
  event: 'new_assignment',
  payload: Record<string, unknown>,
) => Promise<void>;
