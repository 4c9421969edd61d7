/**
 * The engine's settings: `config.canary` in the Artillery script, with the variables `canary target`
 * prints (SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY, MECHANIC_TOKEN…) as defaults,
 * so the same script runs against the local target and a real project. Checked once per worker;
 * a bad value stops the run with a message that says what to set.
 */
import type { RealtimePath } from '../../../src/realtime/index.js';

export type PublishMode = 'app_endpoint' | 'direct';

export interface EngineConfig {
  url: string;
  anonKey: string;
  serviceRoleKey: string | undefined;
  /** Virtual users take these in turn; one token is fine, since each VU has its own socket. */
  mechanicTokens: string[];
  publishMode: PublishMode;
  waiverUrl: string;
  paths: RealtimePath[];
  lateAfterMs: number;
  deadlineMs: number;
  joinTimeoutMs: number;
  vsn: '1.0.0' | '2.0.0';
  schema: string;
  table: string;
  sessionsTable: string;
  changesChannel: string;
  broadcastChannel: string;
  broadcastEvent: string;
  /** The `probe` tag written into each synthetic row's metadata. */
  probe: string;
}

/** A setting that is wrong, with what to do about it. */
export class EngineConfigError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(`${message} — ${hint}`);
    this.name = 'EngineConfigError';
  }
}

const PATHS: readonly RealtimePath[] = ['postgres_changes', 'broadcast'];
const KNOWN_KEYS = new Set([
  'url',
  'anonKey',
  'serviceRoleKey',
  'mechanicToken',
  'mechanicTokens',
  'publishMode',
  'waiverUrl',
  'paths',
  'lateAfterMs',
  'deadlineMs',
  'joinTimeoutMs',
  'vsn',
  'schema',
  'table',
  'sessionsTable',
  'changesChannel',
  'broadcastChannel',
  'broadcastEvent',
  'probe',
]);

/** A value Artillery could not fill in (`{{ $env.X }}` with X unset) counts as missing. */
function present(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.includes('{{')) return undefined;
  return text;
}

function required(name: string, value: string | undefined, variable: string): string {
  if (value === undefined) {
    throw new EngineConfigError(
      `config.canary.${name} is not set`,
      `set it in the script or export ${variable} ("canary target" prints it for a local target)`,
    );
  }
  return value;
}

function milliseconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0) {
    throw new EngineConfigError(
      `config.canary.${name} is ${JSON.stringify(value)}`,
      'give a positive number of milliseconds',
    );
  }
  return number;
}

export function parsePaths(value: unknown, where: string): RealtimePath[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!list || list.length === 0) {
    throw new EngineConfigError(
      `${where} is ${JSON.stringify(value)}`,
      `list one or both of ${PATHS.join(', ')}`,
    );
  }
  const paths: RealtimePath[] = [];
  for (const item of list) {
    const name = typeof item === 'string' ? item.trim() : item;
    const path = PATHS.find((known) => known === name);
    if (!path) {
      throw new EngineConfigError(
        `${where} names ${JSON.stringify(item)}`,
        `use ${PATHS.join(' or ')} (polling is measured by canary run, not per virtual user)`,
      );
    }
    if (!paths.includes(path)) paths.push(path);
  }
  return paths;
}

function mechanicTokens(section: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const fromScript = Array.isArray(section.mechanicTokens)
    ? section.mechanicTokens.map(present)
    : [present(section.mechanicToken)];
  const tokens = fromScript.filter((token): token is string => token !== undefined);
  if (tokens.length > 0) return tokens;
  const first = present(env.MECHANIC_TOKEN);
  if (first) tokens.push(first);
  // MECHANIC_TOKEN_2, _3, … as `canary target --seed-mechanics N` prints them; bounded.
  for (let i = 2; i <= 10_000; i += 1) {
    const next = present(env[`MECHANIC_TOKEN_${i}`]);
    if (!next) break;
    tokens.push(next);
  }
  if (tokens.length === 0) {
    throw new EngineConfigError(
      'no mechanic token: config.canary.mechanicToken is not set',
      'set it in the script or export MECHANIC_TOKEN ("canary target" prints one for a local target)',
    );
  }
  return tokens;
}

/** Reads `config.canary` of an Artillery script, falling back to the environment. */
export function resolveEngineConfig(
  scriptConfig: { target?: unknown; canary?: unknown },
  env: NodeJS.ProcessEnv = process.env,
): EngineConfig {
  const raw = scriptConfig.canary ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EngineConfigError(
      'config.canary is not a mapping',
      'write it as key: value lines (see examples/smoke.yml)',
    );
  }
  const section = raw as Record<string, unknown>;
  for (const key of Object.keys(section)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new EngineConfigError(
        `config.canary.${key} is not a setting`,
        `use one of ${[...KNOWN_KEYS].join(', ')}`,
      );
    }
  }
  const url = required(
    'url',
    present(section.url) ?? present(scriptConfig.target) ?? present(env.SUPABASE_URL),
    'SUPABASE_URL',
  ).replace(/\/+$/, '');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new EngineConfigError(
      `config.canary.url ${JSON.stringify(url)} is not an http(s) URL`,
      'give the project URL, e.g. http://127.0.0.1:54321',
    );
  }
  const anonKey = required(
    'anonKey',
    present(section.anonKey) ?? present(env.SUPABASE_ANON_KEY),
    'SUPABASE_ANON_KEY',
  );
  const serviceRoleKey = present(section.serviceRoleKey) ?? present(env.SUPABASE_SERVICE_ROLE_KEY);
  const publishMode = present(section.publishMode) ?? 'app_endpoint';
  if (publishMode !== 'app_endpoint' && publishMode !== 'direct') {
    throw new EngineConfigError(
      `config.canary.publishMode is ${JSON.stringify(publishMode)}`,
      'use app_endpoint or direct',
    );
  }
  if (publishMode === 'direct' && serviceRoleKey === undefined) {
    throw new EngineConfigError(
      'publishMode direct needs the service-role key',
      'set config.canary.serviceRoleKey or export SUPABASE_SERVICE_ROLE_KEY',
    );
  }
  const lateAfterMs = milliseconds('lateAfterMs', section.lateAfterMs, 2_000);
  const deadlineMs = milliseconds('deadlineMs', section.deadlineMs, 10_000);
  if (!(lateAfterMs < deadlineMs)) {
    throw new EngineConfigError(
      `config.canary.lateAfterMs (${lateAfterMs}) is not below deadlineMs (${deadlineMs})`,
      'an event is late after lateAfterMs and dropped after deadlineMs; make lateAfterMs the smaller',
    );
  }
  const vsn = present(section.vsn) ?? '2.0.0';
  if (vsn !== '1.0.0' && vsn !== '2.0.0') {
    throw new EngineConfigError(`config.canary.vsn is ${JSON.stringify(vsn)}`, 'use 1.0.0 or 2.0.0');
  }
  const text = (key: string, fallback: string): string => present(section[key]) ?? fallback;
  return {
    url,
    anonKey,
    serviceRoleKey,
    mechanicTokens: mechanicTokens(section, env),
    publishMode,
    waiverUrl: text('waiverUrl', `${url}/api/waiver`),
    paths: section.paths === undefined ? [...PATHS] : parsePaths(section.paths, 'config.canary.paths'),
    lateAfterMs,
    deadlineMs,
    joinTimeoutMs: milliseconds('joinTimeoutMs', section.joinTimeoutMs, 10_000),
    vsn,
    schema: text('schema', 'public'),
    table: text('table', 'session_assignments'),
    sessionsTable: text('sessionsTable', 'sessions'),
    changesChannel: text('changesChannel', 'mechanic-assignments-changes'),
    broadcastChannel: text(
      'broadcastChannel',
      present(env.CANARY_BROADCAST_CHANNEL) ?? 'mechanic-assignments',
    ),
    broadcastEvent: text('broadcastEvent', 'new_assignment'),
    probe: text('probe', 'artillery'),
  };
}
