/**
 * The local target's Realtime gateway: the Phoenix websocket protocol as Supabase Realtime speaks
 * it (vsn 1.0.0 JSON objects and 2.0.0 JSON arrays plus binary broadcast frames), channels with
 * Supabase's join replies and errors, broadcast (socket and REST), presence, the Free-plan limits,
 * and the websocket-side faults. An independent implementation: it shares no code with the
 * harness's client, so a protocol mistake cannot hide by being made twice.
 */
export {
  createRealtimeGateway,
  REALTIME_WEBSOCKET_PATH,
  SUPABASE_CHANNEL_ERROR_BACKOFF_MS,
  SUPABASE_CONNECT_ERROR_BACKOFF_MS,
  type RealtimeGatewayOptions,
} from './realtime-gateway.js';
export {
  decodeFrame,
  encodeMessage,
  encodeUserBroadcast,
  encodeUserBroadcastPush,
  FrameError,
  type BinaryBroadcastPush,
  type PhoenixMessage,
  type SerializerVersion,
} from './frame-codec.js';
export { bindingId } from './join-config.js';
