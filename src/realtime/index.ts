/**
 * Realtime: the harness's Supabase adapter and the only area that imports @supabase/supabase-js.
 * Subscribers (the real supabase-js client, and a lean Phoenix client on raw `ws` for scale)
 * report the same statuses and deliveries; the publisher creates a tagged assignment through the
 * app's waiver endpoint or directly with the service role, then broadcasts `new_assignment`.
 */
export * from './types.js';
export { mapAuthReason, mapErrorReason } from './error-reason.js';
export { createLeanSubscriber, type LeanSubscriberOptions } from './lean-subscriber.js';
export { createSupabaseJsSubscriber, type SupabaseJsSubscriberOptions } from './supabase-js-subscriber.js';
export { scrubSecrets } from './secret-scrub.js';
export { fixedToken } from './subscriber-config.js';
export {
  createPublisher,
  type Publisher,
  type PublisherConfig,
  type PublishRequest,
  type PublishResult,
  type PublishStep,
} from './publisher.js';
