/**
 * The subscriber benchmark's target process: the local target with its plan limits lifted, and a
 * broadcaster that calls the gateway's server-side broadcast() at a fixed rate.
 *
 * Every socket write that carries the send-time placeholder gets its own copy with the current
 * CLOCK_MONOTONIC time written in, just before `ws` hands it to the kernel. A subscriber's
 * receive time minus that stamp is therefore what loopback plus the harness adds, without the
 * time the target spends walking the other sockets of the same fan-out.
 *
 * The reconnect storm (bench/reconnect-storm.ts) also drives it: the join-rate limit, dropping
 * every socket with the disconnect fault, and numbered broadcasts.
 *
 * With BENCH_TLS=1 the target serves https:// and wss:// only (its own CA; the CA goes back in the
 * ready reply). Started by bench/subscribers.ts over IPC; not meant to be run by hand.
 */
import WebSocket from 'ws';
import { startTarget } from '../src/local-target/index.js';
import {
  BENCH_CHANNEL,
  BENCH_EVENT,
  monotonicMs,
  SENT_AT_DIGITS,
  SENT_AT_PLACEHOLDER,
  type TargetCommand,
  type TargetReply,
} from './bench-common.js';

const PLACEHOLDER_BYTES = Buffer.from(SENT_AT_PLACEHOLDER.slice(1), 'utf8');
/** Where the placeholder sits in each shared frame (found once per frame, not once per socket). */
const placeholderAt = new WeakMap<Buffer, number>();

type SendData = Parameters<WebSocket['send']>[0];
const originalSend = WebSocket.prototype.send as (
  this: WebSocket,
  data: SendData,
  ...rest: unknown[]
) => void;

function stamped(data: SendData): SendData {
  let bytes: Buffer;
  if (Buffer.isBuffer(data)) bytes = data;
  else if (typeof data === 'string') {
    if (!data.includes(SENT_AT_PLACEHOLDER)) return data;
    bytes = Buffer.from(data, 'utf8');
  } else return data;
  let at = placeholderAt.get(bytes);
  if (at === undefined) {
    at = bytes.indexOf(PLACEHOLDER_BYTES);
    placeholderAt.set(bytes, at);
  }
  if (at < 0) return data;
  const copy = Buffer.from(bytes);
  copy.write(process.hrtime.bigint().toString().padStart(SENT_AT_DIGITS, '0'), at, 'latin1');
  return copy;
}

WebSocket.prototype.send = function send(this: WebSocket, data: SendData, ...rest: unknown[]): void {
  originalSend.call(this, stamped(data), ...rest);
} as WebSocket['send'];

const reply = (message: TargetReply): void => void process.send?.(message);

const target = await startTarget({
  tls: process.env.BENCH_TLS === '1',
  // The benchmark measures clients, not the Free plan's quotas.
  limits: {
    maxConcurrentConnections: 100_000,
    maxJoinsPerSecond: 100_000,
    maxChannelsPerConnection: 1000,
    maxMessagesPerSecond: 1_000_000,
  },
});
const mechanic = await target.createMechanic({ name: 'Subscriber bench' });

async function broadcastAtRate(perSecond: number, seconds: number): Promise<TargetReply> {
  const total = Math.max(1, Math.min(10_000, Math.round(perSecond * seconds)));
  const intervalMs = 1000 / perSecond;
  const started = performance.now();
  let recipients = 0;
  for (let seq = 0; seq < total; seq += 1) {
    // Scheduled against the start, so a slow fan-out does not stretch the rate.
    const dueAt = started + seq * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    recipients += target.gateway.broadcast(BENCH_CHANNEL, BENCH_EVENT, {
      assignmentId: SENT_AT_PLACEHOLDER,
      seq,
    });
  }
  return { kind: 'broadcasted', broadcasts: total, recipients, elapsedMs: performance.now() - started };
}

/**
 * Drops every socket at once with the target's disconnect fault (close code 1006: the sockets are
 * terminated, as when a connection is lost), then turns the fault off before anyone reconnects
 * (the lean client's first retry comes after 1 s).
 */
async function dropAll(): Promise<TargetReply> {
  const before = target.gateway.stats().connections;
  await target.faults.update({ disconnects: { everyMs: 50, fraction: 1, code: 1006 } });
  const started = Date.now();
  while (target.gateway.stats().connections > 0 && Date.now() - started < 2_000) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const droppedAt = monotonicMs();
  await target.faults.update({ disconnects: { everyMs: 0 } });
  const left = target.gateway.stats().connections;
  return { kind: 'dropped', dropped: before - left, droppedAt, left };
}

function broadcastSeq(seq: number): TargetReply {
  const sentAt = monotonicMs();
  const recipients = target.gateway.broadcast(BENCH_CHANNEL, BENCH_EVENT, {
    assignmentId: `storm-${seq}`,
    metadata: { canary_event_id: `storm-${seq}` },
  });
  return { kind: 'sent', seq, sentAt, recipients };
}

process.on('message', (command: TargetCommand) => {
  void (async () => {
    try {
      if (command.kind === 'broadcast') reply(await broadcastAtRate(command.perSecond, command.seconds));
      else if (command.kind === 'stats') reply({ kind: 'stats', ...target.gateway.stats() });
      else if (command.kind === 'join-limit') {
        // The gateway reads its plan limits on every join, so the benchmark can change this one live.
        (target.context.limits as { maxJoinsPerSecond: number }).maxJoinsPerSecond = command.perSecond;
        reply({ kind: 'join-limit-set', perSecond: command.perSecond });
      } else if (command.kind === 'drop') reply(await dropAll());
      else if (command.kind === 'broadcast-seq') reply(broadcastSeq(command.seq));
      else {
        await target.stop();
        process.exit(0);
      }
    } catch (error) {
      reply({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
process.on('disconnect', () => {
  void target.stop().finally(() => process.exit(0));
});

reply({
  kind: 'ready',
  url: target.url,
  anonKey: target.anonKey,
  token: mechanic.token,
  ...(target.tls ? { caPem: target.tls.caPem } : {}),
});
