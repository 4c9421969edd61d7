/**
 * Shared test fixtures: a real local target per test file (withTarget), a real supabase-js
 * client wired with the `ws` transport Node 20 needs (createSupabaseClient), and fetch options
 * for a TLS target (through).
 */
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import type { Dispatcher } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { startTarget, type LocalTarget, type TargetOptions } from '../../src/local-target/index.js';
import type { RequestInitWithDispatcher } from '../../src/local-target/tls/server-tls.js';

/**
 * Starts a target before the file's tests and stops it after. Read `.current` inside tests
 * (it is set once beforeAll ran). Without `jwtMode` the target takes CANARY_TARGET_JWT_MODE
 * (legacy | asymmetric | both, default both), so the suite can run against each kind of project.
 */
export function withTarget(options: TargetOptions = {}): { readonly current: LocalTarget } {
  let target: LocalTarget | undefined;
  beforeAll(async () => {
    target = await startTarget(options);
  });
  afterAll(async () => {
    await target?.stop();
  });
  return {
    get current(): LocalTarget {
      if (!target) throw new Error('withTarget(): the target is used before beforeAll started it');
      return target;
    },
  };
}

export interface TestClientOptions {
  /** A user access token sent as Authorization instead of the key (e.g. a mechanic's token). */
  accessToken?: string;
  /** Extra supabase-js options merged over the defaults. */
  client?: SupabaseClientOptions<'public'>;
}

type WebSocketTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

/** A real supabase-js client for the target (no session persistence, ws transport). */
export function createSupabaseClient(
  url: string,
  key: string,
  options: TestClientOptions = {},
): SupabaseClient {
  const accessToken = options.accessToken;
  const client = createClient(url, key, {
    ...options.client,
    auth: {
      persistSession: false,
      autoRefreshToken: false,
      detectSessionInUrl: false,
      ...options.client?.auth,
    },
    // ws's typings differ from the DOM WebSocket realtime-js declares; the runtime shape is the same.
    realtime: { transport: WebSocket as unknown as WebSocketTransport, ...options.client?.realtime },
    ...(accessToken ? { accessToken: async () => accessToken } : {}),
  });
  // supabase-js hands the accessToken to Realtime asynchronously; a channel joined before that
  // would join with the anon key (and see nothing through RLS). Set it now, like a signed-in app.
  if (accessToken) void client.realtime.setAuth(accessToken);
  return client;
}

/** fetch() options that send the request through `dispatcher` (e.g. an undici Agent trusting a CA). */
export function through(dispatcher: Dispatcher, init: RequestInit = {}): RequestInit {
  const withDispatcher: RequestInitWithDispatcher = { ...init, dispatcher };
  return withDispatcher;
}
