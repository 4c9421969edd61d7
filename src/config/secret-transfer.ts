/**
 * Moving Secrets to a process this one started and trusts (a load worker, over its private IPC
 * pipe — never argv or the environment, which other users can read). `revealSecrets` walks plain
 * data and turns every Secret, wherever it sits, into `{ secret, source }`; `reviveSecrets` turns
 * them back. Functions are left behind (they cannot cross a process boundary). Because the walk is
 * generic, a Secret field added to a shape later crosses without a change here.
 */
import { Secret } from './secret.js';

/** A Secret on the wire: its value, and the variable it came from. */
export interface RevealedSecret {
  readonly secret: string;
  readonly source: string;
}

type FunctionKeys<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];

/** `T` with every Secret in it replaced by `S`, and methods and function-valued fields dropped. */
type WithSecretsAs<T, S> = T extends Secret
  ? S
  : T extends readonly (infer E)[]
    ? WithSecretsAs<E, S>[]
    : T extends object
      ? { [K in Exclude<keyof T, FunctionKeys<T>>]: WithSecretsAs<T[K], S> }
      : T;

/** `T` as it crosses: Secrets revealed, functions left behind. */
export type Revealed<T> = WithSecretsAs<T, RevealedSecret>;

/** `T` as it arrives: Secrets again, without the functions that could not cross. */
export type Revived<T> = WithSecretsAs<T, Secret>;

export function revealSecrets<T>(value: T): Revealed<T> {
  return walk(value, (item) =>
    item instanceof Secret ? { secret: item.reveal(), source: item.source } : undefined,
  ) as Revealed<T>;
}

export function reviveSecrets<T>(value: Revealed<T>): Revived<T> {
  return walk(value, (item) =>
    isRevealedSecret(item) ? new Secret(item.secret, item.source) : undefined,
  ) as Revived<T>;
}

function isRevealedSecret(value: unknown): value is RevealedSecret {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  return keys.length === 2 && typeof record.secret === 'string' && typeof record.source === 'string';
}

/** Copies plain data, letting `replace` take over any value it recognises; drops functions. */
function walk(value: unknown, replace: (value: unknown) => unknown): unknown {
  const replaced = replace(value);
  if (replaced !== undefined) return replaced;
  if (Array.isArray(value)) return value.map((item) => walk(item, replace));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'function') continue;
    out[key] = walk(item, replace);
  }
  return out;
}
