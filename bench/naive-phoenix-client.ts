/**
 * The baseline a team would write in an afternoon: one raw `ws` socket per subscriber speaking
 * Phoenix vsn 1.0.0, every frame JSON.parsed, closures per subscriber for its listeners and its
 * heartbeat timer. Correct for the happy path (join, heartbeat, broadcast) and nothing more, on
 * purpose: it is what the lean subscriber is compared against.
 */
import WebSocket from 'ws';

export interface NaiveSubscriberOptions {
  url: string;
  /** Over wss://: the CA to trust, given to `ws` as `{ ca }` (a new TLS context per socket). */
  ca?: string;
  anonKey: string;
  accessToken: string;
  channel: string;
  event: string;
  onJoined: (ok: boolean) => void;
  onBroadcast: (payload: Record<string, unknown>, receivedAt: number) => void;
  now: () => number;
}

export interface NaiveSubscriber {
  close(): void;
}

export function startNaiveSubscriber(options: NaiveSubscriberOptions): NaiveSubscriber {
  const endpoint = `${options.url.replace(/^http/, 'ws')}/realtime/v1/websocket?apikey=${encodeURIComponent(options.anonKey)}&vsn=1.0.0`;
  const socket = new WebSocket(endpoint, options.ca ? { ca: options.ca } : {});
  const topic = `realtime:${options.channel}`;
  let ref = 0;
  let joined = false;
  const heartbeat = setInterval(() => {
    if (socket.readyState === WebSocket.OPEN) {
      ref += 1;
      socket.send(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: String(ref) }));
    }
  }, 25_000);
  socket.on('open', () => {
    ref += 1;
    socket.send(
      JSON.stringify({
        topic,
        event: 'phx_join',
        payload: {
          config: {
            broadcast: { self: false, ack: false },
            presence: { key: '', enabled: false },
            postgres_changes: [],
            private: false,
          },
          access_token: options.accessToken,
        },
        ref: String(ref),
        join_ref: String(ref),
      }),
    );
  });
  socket.on('message', (data) => {
    const receivedAt = options.now();
    const message = JSON.parse(data.toString()) as {
      topic: string;
      event: string;
      payload: { status?: string; event?: string; payload?: Record<string, unknown> };
    };
    if (message.topic !== topic) return;
    if (message.event === 'phx_reply' && !joined) {
      joined = message.payload.status === 'ok';
      options.onJoined(joined);
    } else if (message.event === 'broadcast' && message.payload.event === options.event) {
      options.onBroadcast(message.payload.payload ?? {}, receivedAt);
    }
  });
  socket.on('error', () => {
    if (!joined) options.onJoined(false);
  });
  socket.on('close', () => clearInterval(heartbeat));
  return {
    close: () => {
      clearInterval(heartbeat);
      socket.terminate();
    },
  };
}
