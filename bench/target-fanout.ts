/**
 * Local target fan-out benchmark: how fast the target delivers one event to N subscribers, on
 * each Realtime path, on this machine.
 *
 *   node --import tsx bench/target-fanout.ts [--sizes 100,1000,5000] [--events 20] [--db]
 *
 * The target (embedded Postgres, WAL change feed, gateway) runs in this process. N raw `ws`
 * Phoenix clients (vsn 1.0.0, no supabase-js) run in a SEPARATE child process, all joined to one
 * channel with a postgres_changes INSERT binding on session_assignments (as one mechanic, so every
 * change is RLS-checked) and broadcast. Then, per N:
 *
 *   postgres_changes  --events single-row inserts, back to back; latency = receive − commit_timestamp
 *   broadcast         --events REST broadcasts (the waiver endpoint's path); latency = receive − send
 *   db_broadcast      (with --db) a second set of N clients joins the PRIVATE channel `assignments`
 *                     (Realtime Authorization by the mechanics' realtime.messages policy, checked
 *                     in Postgres per join) and nothing else; --events single-row inserts, each
 *                     broadcast by the session_assignments trigger through realtime.broadcast_changes()
 *                     and read back from the WAL; latency = receive − the row's updated_at (its
 *                     transaction's start, so slightly longer than from commit). The trigger is
 *                     dropped during the first two phases so each path is measured alone.
 *
 * deliveries/s = deliveries ÷ (last receive − first send). Every phase is bounded in time; a phase
 * that times out reports what arrived. The file-descriptor limit is raised for this process tree
 * only (it re-executes itself under `ulimit -n` when the current limit is too low).
 * Results for this machine: docs/benchmarks.md, "Local target fan-out".
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const SELF = fileURLToPath(import.meta.url);
const TOPIC_NAME = 'fanout';
/** The trigger's shared topic for rows without a mechanic (migrations/0007). */
const DB_TOPIC = 'assignments';
const JOIN_CONCURRENCY = 200;
const JOIN_TIMEOUT_MS = 180_000;
const PHASE_TIMEOUT_MS = 120_000;
const HEARTBEAT_MS = 20_000;

type Phase = 'postgres_changes' | 'broadcast' | 'db_broadcast';

interface PhaseReport {
  phase: Phase;
  count: number;
  p50: number;
  p99: number;
  max: number;
  lastReceiveAt: number;
}

type ChildMessage =
  | { kind: 'ready'; joined: number; failed: number; joinMs: number }
  | { kind: 'report'; report: PhaseReport }
  | { kind: 'error'; message: string };

type ParentMessage = { kind: 'report'; phase: Phase } | { kind: 'close' };

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

// ---- child: the subscribers ----------------------------------------------------------------------

async function runSubscribers(): Promise<void> {
  const url = process.env.FANOUT_URL ?? '';
  const apiKey = process.env.FANOUT_API_KEY ?? '';
  const token = process.env.FANOUT_TOKEN ?? '';
  const count = Number(process.env.FANOUT_SUBSCRIBERS ?? '0');
  const dbMode = process.env.FANOUT_MODE === 'db';
  const send = (message: ChildMessage): void => void process.send?.(message);
  const latencies: Record<Phase, number[]> = { postgres_changes: [], broadcast: [], db_broadcast: [] };
  const lastReceiveAt: Record<Phase, number> = { postgres_changes: 0, broadcast: 0, db_broadcast: 0 };
  const sockets: WebSocket[] = [];
  const topic = dbMode ? `realtime:${DB_TOPIC}` : `realtime:${TOPIC_NAME}`;
  const joinPayload = JSON.stringify({
    topic,
    event: 'phx_join',
    payload: {
      config: {
        broadcast: { self: false, ack: false },
        presence: { key: '', enabled: false },
        postgres_changes: dbMode ? [] : [{ event: 'INSERT', schema: 'public', table: 'session_assignments' }],
        private: dbMode,
      },
      access_token: token,
    },
    ref: '1',
    join_ref: '1',
  });

  // The subscribers share the machine with the target: read the one field needed by string search
  // instead of parsing every ~1.5 KB change message.
  const COMMIT_KEY = '"commit_timestamp":"';
  const SENT_KEY = '"sentAt":';
  const UPDATED_KEY = '"updated_at":"';
  function onMessage(raw: WebSocket.RawData): void {
    const now = Date.now();
    const text = raw.toString();
    if (dbMode) {
      const updatedAt = text.indexOf(UPDATED_KEY);
      if (updatedAt < 0 || !text.includes('"broadcast_changes_bench"')) return;
      const start = updatedAt + UPDATED_KEY.length;
      latencies.db_broadcast.push(now - Date.parse(text.slice(start, text.indexOf('"', start))));
      lastReceiveAt.db_broadcast = now;
      return;
    }
    const commitAt = text.indexOf(COMMIT_KEY);
    if (commitAt >= 0 && text.includes('"postgres_changes"')) {
      const start = commitAt + COMMIT_KEY.length;
      latencies.postgres_changes.push(now - Date.parse(text.slice(start, text.indexOf('"', start))));
      lastReceiveAt.postgres_changes = now;
      return;
    }
    const sentAt = text.indexOf(SENT_KEY);
    if (sentAt >= 0 && text.includes('"broadcast"')) {
      latencies.broadcast.push(now - Number.parseInt(text.slice(sentAt + SENT_KEY.length), 10));
      lastReceiveAt.broadcast = now;
    }
  }

  function connectOne(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = new WebSocket(
        `${url.replace(/^http/, 'ws')}/realtime/v1/websocket?apikey=${encodeURIComponent(apiKey)}&vsn=1.0.0`,
      );
      let settled = false;
      const finish = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), 30_000);
      socket.on('open', () => socket.send(joinPayload));
      socket.on('error', () => finish(false));
      socket.on('close', () => finish(false));
      socket.on('message', (raw) => {
        if (!settled) {
          const text = raw.toString();
          // Joined and live once the feed confirms the postgres_changes subscription (private
          // broadcast-only channels: once the join is answered ok).
          if (text.includes('"system"') && text.includes('"ok"')) finish(true);
          else if (dbMode && text.includes('"phx_reply"') && text.includes('"ok"')) finish(true);
          else if (text.includes('"phx_reply"') && text.includes('"error"')) finish(false);
          return;
        }
        onMessage(raw);
      });
      sockets.push(socket);
    });
  }

  const started = Date.now();
  let joined = 0;
  let failed = 0;
  for (let offset = 0; offset < count; offset += JOIN_CONCURRENCY) {
    const batch = Math.min(JOIN_CONCURRENCY, count - offset);
    const results = await Promise.all(Array.from({ length: batch }, () => connectOne()));
    joined += results.filter(Boolean).length;
    failed += results.filter((ok) => !ok).length;
    if (Date.now() - started > JOIN_TIMEOUT_MS) break;
  }
  const heartbeat = setInterval(() => {
    for (const socket of sockets) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"hb"}');
      }
    }
  }, HEARTBEAT_MS);
  send({ kind: 'ready', joined, failed, joinMs: Date.now() - started });

  process.on('message', (message: ParentMessage) => {
    if (message.kind === 'report') {
      const sorted = Float64Array.from(latencies[message.phase]).sort();
      send({
        kind: 'report',
        report: {
          phase: message.phase,
          count: sorted.length,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          max: sorted[sorted.length - 1] ?? NaN,
          lastReceiveAt: lastReceiveAt[message.phase],
        },
      });
    } else {
      clearInterval(heartbeat);
      for (const socket of sockets) socket.terminate();
      process.exit(0);
    }
  });
}

// ---- parent: the target and the publisher ----------------------------------------------------------

function ask(child: ChildProcess, message: ParentMessage): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: ChildMessage): void => {
      child.off('exit', onExit);
      resolve(reply);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`subscriber process exited (${code})`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

async function runBenchmark(): Promise<void> {
  const sizes = argument('sizes', '100,1000,5000')
    .split(',')
    .map((size) => Number(size.trim()))
    .filter((size) => Number.isInteger(size) && size > 0);
  const events = Math.max(1, Math.min(1_000, Number(argument('events', '20'))));
  const withDb = process.argv.includes('--db');
  const { startTarget } = await import('../src/local-target/index.js');
  const target = await startTarget({
    // The benchmark measures the target, not the Free plan's quotas.
    limits: {
      maxConcurrentConnections: 100_000,
      maxJoinsPerSecond: 1_000_000,
      maxMessagesPerSecond: 1_000_000_000,
      maxChannelsPerConnection: 100,
    },
  });
  const rows: string[] = [];
  try {
    const mechanic = await target.createMechanic({ name: 'Fan-out bench' });
    const { rows: sessionRows } = await target.db.adminPool.query<{ id: string }>(
      'insert into public.sessions default values returning id',
    );
    const sessionId = sessionRows[0]?.id ?? '';
    const plan: { size: number; mode: 'changes' | 'db' }[] = sizes.flatMap((size) =>
      withDb
        ? [
            { size, mode: 'changes' as const },
            { size, mode: 'db' as const },
          ]
        : [{ size, mode: 'changes' as const }],
    );
    for (const { size, mode } of plan) {
      // Each path alone: the trigger only broadcasts in the db_broadcast phase.
      await target.faults.update({ broadcastTriggerMissing: mode !== 'db' });
      const child = fork(SELF, [], {
        env: {
          ...process.env,
          FANOUT_ROLE: 'subscribers',
          FANOUT_URL: target.url,
          FANOUT_API_KEY: target.anonKey,
          FANOUT_TOKEN: mechanic.token,
          FANOUT_SUBSCRIBERS: String(size),
          FANOUT_MODE: mode,
        },
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      try {
        const ready = await new Promise<ChildMessage>((resolve, reject) => {
          child.once('message', resolve);
          child.once('exit', (code) => reject(new Error(`subscriber process exited (${code})`)));
        });
        if (ready.kind !== 'ready') throw new Error(`subscribers did not start: ${JSON.stringify(ready)}`);
        console.error(`N=${size}: ${ready.joined} joined (${ready.failed} failed) in ${ready.joinMs} ms`);

        const phases =
          mode === 'db' ? (['db_broadcast'] as const) : (['postgres_changes', 'broadcast'] as const);
        for (const phase of phases) {
          const firstSendAt = Date.now();
          for (let seq = 0; seq < events; seq++) {
            if (phase !== 'broadcast') {
              await target.db.adminPool.query(
                'insert into public.session_assignments (session_id, metadata) values ($1, $2)',
                [sessionId, { probe: phase === 'db_broadcast' ? 'broadcast_changes_bench' : 'fanout', seq }],
              );
            } else {
              const response = await fetch(`${target.url}/realtime/v1/api/broadcast`, {
                method: 'POST',
                headers: {
                  apikey: target.serviceRoleKey,
                  Authorization: `Bearer ${target.serviceRoleKey}`,
                  'Content-Type': 'application/json',
                },
                body: JSON.stringify({
                  messages: [{ topic: TOPIC_NAME, event: 'tick', payload: { seq, sentAt: Date.now() } }],
                }),
              });
              await response.body?.cancel();
            }
          }
          const expected = ready.joined * events;
          const deadline = Date.now() + PHASE_TIMEOUT_MS;
          let report: PhaseReport | undefined;
          for (;;) {
            const reply = await ask(child, { kind: 'report', phase });
            if (reply.kind === 'report') report = reply.report;
            if ((report?.count ?? 0) >= expected || Date.now() > deadline) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          if (!report) throw new Error('no report from the subscriber process');
          const seconds = Math.max(1, report.lastReceiveAt - firstSendAt) / 1000;
          const row =
            `| ${size.toLocaleString('en')} | ${phase} | ${events} | ${report.count.toLocaleString('en')} / ` +
            `${expected.toLocaleString('en')} | ${Math.round(report.count / seconds).toLocaleString('en')} | ` +
            `${report.p50.toFixed(0)} | ${report.p99.toFixed(0)} | ${report.max.toFixed(0)} |`;
          rows.push(row);
          console.error(row);
        }
      } finally {
        child.send({ kind: 'close' });
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve(undefined);
          }, 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
      }
    }
  } finally {
    await target.stop();
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  // Other work on the machine moves these numbers a lot; say how busy it was.
  const load = os.loadavg().map((value) => value.toFixed(1));
  console.log(`Load average at the end (1/5/15 min): ${load.join(' / ')}`);
  console.log(
    `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `Command: node --import tsx bench/target-fanout.ts --sizes ${sizes.join(',')} --events ${events}${withDb ? ' --db' : ''}`,
  );
  console.log('');
  console.log('| N subscribers | path | events | deliveries | deliveries/s | p50 ms | p99 ms | max ms |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
}

// ---- entry: raise the descriptor limit for this process tree only, then run ----------------------

function currentFdLimit(): number {
  const result = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const value = result.stdout.trim();
  return value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value);
}

if (process.env.FANOUT_ROLE === 'subscribers') {
  await runSubscribers();
} else {
  const largest = Math.max(...argument('sizes', '100,1000,5000').split(',').map(Number));
  // One descriptor per socket on each side, plus Postgres connections and headroom.
  const needed = largest + 1_024;
  if (currentFdLimit() < needed && process.env.FANOUT_FD_RAISED !== '1') {
    const command = [process.execPath, '--import', 'tsx', SELF, ...process.argv.slice(2)]
      .map((part) => `'${part.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    execFileSync('sh', ['-c', `ulimit -n ${needed} && exec ${command}`], {
      stdio: 'inherit',
      env: { ...process.env, FANOUT_FD_RAISED: '1' },
    });
  } else {
    await runBenchmark();
  }
}
