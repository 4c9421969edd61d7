/**
 * Checks every subscriber kind applies to its config before connecting, so a config that cannot
 * work fails the same way whichever client was chosen.
 */
import { CanaryError } from '../shared/index.js';
import type { AccessTokenSource, SubscriberConfig } from './types.js';

export function assertUsableSubscriberConfig(config: SubscriberConfig): void {
  if (config.paths.length === 0) {
    throw new CanaryError('CONFIG_INVALID', `subscriber ${config.id} has no paths to listen on`, {
      hint: "give it at least one of 'postgres_changes' and 'broadcast'",
    });
  }
  if (config.paths.includes('db_broadcast') && !config.dbBroadcast) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `subscriber ${config.id} listens on db_broadcast without a topic`,
      {
        hint: "set the environment's dbBroadcast.topic (e.g. assignments) or drop db_broadcast from the paths",
      },
    );
  }
  if (config.paths.length > 1 && config.changesChannel === config.broadcastChannel) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `subscriber ${config.id} uses channel "${config.changesChannel}" for both postgres_changes and broadcast`,
      { hint: 'give the postgres_changes channel and the broadcast channel different names' },
    );
  }
}

/** A token that never changes: tests, benchmarks and pre-issued tokens outside a probe. */
export function fixedToken(token: string): AccessTokenSource {
  return { current: () => token, onRefresh: () => () => {} };
}
