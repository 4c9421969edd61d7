/**
 * postgres_changes for the local target: a temporary logical replication slot (pgoutput) on the
 * supabase_realtime publication, decoded into Supabase-shaped change payloads, filtered per
 * binding and authorised per subscriber in Postgres (RLS as the subscriber's role and claims).
 * LSNs are confirmed only after delivery, so slot lag and the replication-pause fault are real.
 */
export { createChangeFeed, unableToSubscribeMessage } from './change-feed.js';
export { parseFilter, FilterParseError, type FilterCondition } from './change-filter.js';
export {
  createMessageFeed,
  messageFromTuple,
  MESSAGES_PUBLICATION,
  type DatabaseMessage,
  type MessageFeed,
} from './message-feed.js';
