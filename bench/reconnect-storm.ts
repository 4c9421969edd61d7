/**
 * Reconnect storm: N lean subscribers in one harness process lose their sockets at once, and the
 * benchmark times how long until every one is SUBSCRIBED again, and what that costs the harness.
 *
 *   npm run bench:reconnect-storm -- [--subscribers 5000] [--transports ws,wss]
 *     [--join-limits off,on] [--resumption on,off] [--timeout 180] [--json <file>]
 *
 * The local target runs in its own process (bench/subscribers-target.ts; over wss with its own CA)
 * and the subscribers in another (bench/storm-clients.ts, one ProjectTransport trusting that CA).
 * Per transport, and over wss per TLS session resumption on / off, the subscribers join with the
 * target's limits lifted; then, for each join-rate limit:
 *
 *   1. the target's join-rate limit is set (off: 100,000/s; on: Supabase Free's
 *      FREE_PLAN_LIMITS.maxJoinsPerSecond, 100/s), and two numbered broadcasts check that all N
 *      receive while nothing happens;
 *   2. the target's disconnect fault closes every socket in one tick (code 1006: terminated), and
 *      is turned off again before the lean client's first retry (1 s; then 2, 5, 10 s);
 *   3. a numbered broadcast goes out every second, until every subscriber is SUBSCRIBED again and
 *      five more seconds have passed, or --timeout seconds at most;
 *   4. counted per subscriber: drop → SUBSCRIBED again, sockets opened on the way, broadcasts
 *      received; and the harness process's CPU time from the drop to the last SUBSCRIBED, its
 *      TLS handshakes and how many resumed a session.
 *
 * A broadcast sent while a subscriber was SUBSCRIBED again must reach it (Realtime broadcasts are
 * not replayed, so one sent while it was down may be missed); one sent after every subscriber is
 * back must reach all N. File-descriptor limits are raised only for the processes this benchmark
 * starts. Every phase is bounded in time. Results: docs/benchmarks.md ("Reconnect storm").
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { FREE_PLAN_LIMITS } from '../src/local-target/components.js';
import type { TargetReply } from './bench-common.js';
import {
  argument,
  ask,
  endChild,
  fdLimit,
  listArgument,
  nextMessage,
  positive,
  spawnNode,
  printMachine,
} from './bench-processes.js';
import type { StormCommand, StormResult } from './storm-clients.js';

const LIFTED_JOINS_PER_SECOND = 100_000;
const SETTLE_MS = 3_000;
const AFTER_ALL_BACK_MS = 5_000;
const BROADCAST_EVERY_MS = 1_000;
const STATUS_EVERY_MS = 250;

type Transport = 'ws' | 'wss';

interface StormRun {
  transport: Transport;
  resumption: boolean;
  joinLimit: 'off' | 'on';
  joinsPerSecond: number;
  subscribers: number;
  dropped: number;
  /** Drop → every subscriber SUBSCRIBED again (ms), as the harness saw it; NaN when not all came back. */
  allBackMs: number;
  broadcasts: number;
  result?: StormResult;
  note?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function storm(
  target: ChildProcess,
  clients: ChildProcess,
  run: StormRun,
  timeoutMs: number,
): Promise<StormRun> {
  await ask(target, { kind: 'join-limit', perSecond: run.joinsPerSecond });
  await sleep(SETTLE_MS);
  const broadcasts: Extract<TargetReply, { kind: 'sent' }>[] = [];
  let seq = 0;
  const send = async (): Promise<void> => {
    broadcasts.push(
      await ask<Extract<TargetReply, { kind: 'sent' }>>(target, { kind: 'broadcast-seq', seq }),
    );
    seq += 1;
  };
  await ask(clients, { kind: 'storm-start' } satisfies StormCommand);
  // Before the drop, everyone receives: the check's own baseline.
  for (let i = 0; i < 2; i++) {
    await send();
    await sleep(500);
  }
  const drop = await ask<Extract<TargetReply, { kind: 'dropped' }>>(target, { kind: 'drop' });
  run.dropped = drop.dropped;
  console.error(
    `${run.transport}${run.transport === 'wss' ? ` resumption ${run.resumption ? 'on' : 'off'}` : ''}, join limit ${run.joinLimit}: ` +
      `dropped ${drop.dropped} sockets (${drop.left} left)`,
  );
  const started = Date.now();
  let nextBroadcast = Date.now() + BROADCAST_EVERY_MS;
  let allBackSince: number | undefined;
  let lastLog = 0;
  while (Date.now() - started < timeoutMs) {
    const status = await ask<{ lost: number; back: number; total: number }>(clients, {
      kind: 'storm-status',
    } satisfies StormCommand);
    if (allBackSince === undefined && status.back === status.total) allBackSince = Date.now();
    if (allBackSince !== undefined && Date.now() - allBackSince >= AFTER_ALL_BACK_MS) break;
    if (Date.now() - lastLog >= 5_000) {
      console.error(
        `  ${((Date.now() - started) / 1000).toFixed(0)} s: ${status.back} / ${status.total} back`,
      );
      lastLog = Date.now();
    }
    if (Date.now() >= nextBroadcast) {
      await send();
      nextBroadcast += BROADCAST_EVERY_MS;
    }
    await sleep(STATUS_EVERY_MS);
  }
  // The last broadcasts need a moment to arrive.
  await sleep(1_000);
  const reply = await ask<{ kind: 'storm-result'; result: StormResult }>(clients, {
    kind: 'storm-stop',
    broadcasts,
  } satisfies StormCommand);
  run.result = reply.result;
  run.broadcasts = broadcasts.length;
  run.allBackMs = reply.result.back === reply.result.subscribers ? reply.result.backMs.max : NaN;
  if (reply.result.back < reply.result.subscribers) {
    run.note = `${reply.result.subscribers - reply.result.back} not back within ${timeoutMs / 1000} s`;
  }
  await ask(target, { kind: 'join-limit', perSecond: LIFTED_JOINS_PER_SECOND });
  return run;
}

const fixed = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '—';
const seconds = (ms: number): string => fixed(ms / 1000, 1);

async function main(): Promise<void> {
  const subscribers = Math.round(positive('subscribers', 5_000));
  const transports = listArgument('transports', 'ws,wss') as Transport[];
  const joinLimits = listArgument('join-limits', 'off,on') as ('off' | 'on')[];
  const resumptions = listArgument('resumption', 'on,off').map((value) => value === 'on');
  const timeoutMs = positive('timeout', 180) * 1000;
  for (const value of transports)
    if (value !== 'ws' && value !== 'wss') throw new Error(`unknown transport ${value}`);
  for (const value of joinLimits)
    if (value !== 'off' && value !== 'on') throw new Error(`--join-limits takes off,on`);
  const started = Date.now();
  const loadBefore = os.loadavg();
  const runs: StormRun[] = [];

  for (const transport of transports) {
    const target = spawnNode('subscribers-target.ts', [], { BENCH_TLS: transport === 'wss' ? '1' : '0' });
    try {
      const ready = await nextMessage<TargetReply>(target, 120_000);
      if (ready.kind !== 'ready') throw new Error(`target did not start: ${JSON.stringify(ready)}`);
      for (const resumption of transport === 'wss' ? resumptions : [true]) {
        const clients = spawnNode('storm-clients.ts', [], {
          BENCH_URL: ready.url,
          BENCH_ANON_KEY: ready.anonKey,
          BENCH_TOKEN: ready.token,
          BENCH_CA_PEM: ready.caPem ?? '',
          BENCH_RESUME: resumption ? '1' : '0',
        });
        try {
          const grown = await ask<{ joined: number; failed: number; joinMs: number }>(clients, {
            kind: 'grow',
            total: subscribers,
          } satisfies StormCommand);
          console.error(
            `${transport}: ${grown.joined} subscribed (${grown.failed} failed) in ${(grown.joinMs / 1000).toFixed(1)} s`,
          );
          for (const joinLimit of joinLimits) {
            const run: StormRun = {
              transport,
              resumption,
              joinLimit,
              joinsPerSecond:
                joinLimit === 'on' ? FREE_PLAN_LIMITS.maxJoinsPerSecond : LIFTED_JOINS_PER_SECOND,
              subscribers: grown.joined,
              dropped: 0,
              allBackMs: NaN,
              broadcasts: 0,
            };
            try {
              runs.push(await storm(target, clients, run, timeoutMs));
            } catch (error) {
              run.note = error instanceof Error ? error.message : String(error);
              runs.push(run);
            }
            const result = run.result;
            console.error(
              `  all back in ${seconds(run.allBackMs)} s; harness CPU ${fixed((result?.cpuMs ?? NaN) / 1000, 2)} s; ` +
                `${result?.resumed ?? 0} / ${result?.handshakes ?? 0} TLS handshakes resumed; ` +
                `dropped after resubscribe ${result?.droppedAfterBack ?? '—'} of ${result?.expectedAfterBack ?? '—'}${run.note ? `; ${run.note}` : ''}`,
            );
          }
        } finally {
          await endChild(clients, { kind: 'close' } satisfies StormCommand);
        }
      }
    } finally {
      await endChild(target, { kind: 'stop' });
    }
  }

  const load = printMachine(loadBefore, started);
  console.log(
    `Command: npm run bench:reconnect-storm -- --subscribers ${subscribers} --transports ${transports.join(',')} ` +
      `--join-limits ${joinLimits.join(',')} --resumption ${resumptions.map((on) => (on ? 'on' : 'off')).join(',')} --timeout ${timeoutMs / 1000}`,
  );
  console.log('');
  console.log(
    '| transport | TLS resumption | join limit | dropped | all SUBSCRIBED again s | p50 / p90 / p99 s | harness CPU s | CPU ms per reconnect | TLS handshakes resumed | tls phase p50 / p99 ms | broadcasts | dropped after resubscribe | after all back: complete | note |',
  );
  console.log(
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const run of runs) {
    const r = run.result;
    console.log(
      `| ${run.transport} | ${run.transport === 'wss' ? (run.resumption ? 'on' : 'off') : '—'} | ` +
        `${run.joinLimit === 'on' ? `${run.joinsPerSecond}/s` : 'off'} | ${run.dropped.toLocaleString('en')} | ` +
        `${seconds(run.allBackMs)} | ${r ? `${seconds(r.backMs.p50)} / ${seconds(r.backMs.p90)} / ${seconds(r.backMs.p99)}` : '—'} | ` +
        `${r ? fixed(r.cpuMs / 1000, 2) : '—'} | ${r && r.back > 0 ? fixed(r.cpuMs / r.back, 2) : '—'} | ` +
        `${r && run.transport === 'wss' ? `${r.resumed.toLocaleString('en')} / ${r.handshakes.toLocaleString('en')} (${fixed((100 * r.resumed) / Math.max(1, r.handshakes), 0)} %)` : '—'} | ` +
        `${r && run.transport === 'wss' ? `${fixed(r.tlsMs.p50, 1)} / ${fixed(r.tlsMs.p99, 1)}` : '—'} | ` +
        `${run.broadcasts} | ${r ? `${r.droppedAfterBack} of ${r.expectedAfterBack.toLocaleString('en')}` : '—'} | ` +
        `${r ? `${r.afterAllBackComplete} / ${r.afterAllBack}` : '—'} | ${run.note ?? ''} |`,
    );
  }
  console.log('');
  console.log(
    'Back within (cumulative share of subscribers; the lean client retries after 1, 2, 5, 10, 10 … s):',
  );
  console.log('');
  const bounds = ['1500', '3500', '8500', '18500', '30000', '60000', '120000', 'any'];
  console.log(
    `| transport | TLS resumption | join limit | ${bounds.map((bound) => (bound === 'any' ? 'at all' : `≤ ${Number(bound) / 1000} s`)).join(' | ')} | sockets opened per subscriber (1 / 2 / 3 / 4 / 5 / 6+) |`,
  );
  console.log(`| --- | --- | --- | ${bounds.map(() => '---:').join(' | ')} | --- |`);
  for (const run of runs) {
    const r = run.result;
    if (!r) continue;
    const share = (count: number): string => `${fixed((100 * count) / Math.max(1, r.subscribers), 1)} %`;
    const attempts = ['1', '2', '3', '4', '5', '6+'].map((label) =>
      (r.attempts[label] ?? 0).toLocaleString('en'),
    );
    console.log(
      `| ${run.transport} | ${run.transport === 'wss' ? (run.resumption ? 'on' : 'off') : '—'} | ${run.joinLimit === 'on' ? `${run.joinsPerSecond}/s` : 'off'} | ` +
        `${bounds.map((bound) => share(r.backWithin[bound] ?? 0)).join(' | ')} | ${attempts.join(' / ')} |`,
    );
  }
  const jsonFile = argument('json', '');
  if (jsonFile) {
    fs.writeFileSync(jsonFile, JSON.stringify({ loadBefore, loadAfter: load, fdLimit, runs }, null, 2));
  }
}

await main();
