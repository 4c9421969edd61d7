/**
 * A real Prometheus Pushgateway for tests: the Debian binary (`prometheus-pushgateway`) on
 * loopback, a free port, no persistence. Missing locally → the suite skips; under CI=true
 * startPushgateway throws, so a CI run without it fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { freeLoopbackPort } from './prometheus.js';

export const PUSHGATEWAY_BINARY = process.env.PUSHGATEWAY_BIN ?? '/usr/bin/prometheus-pushgateway';
export const pushgatewayAvailable = fs.existsSync(PUSHGATEWAY_BINARY);
/** Skip only on a developer machine; in CI a missing Pushgateway is a failure. */
export const skipWithoutPushgateway = !pushgatewayAvailable && process.env.CI !== 'true';

export interface RunningPushgateway {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startPushgateway(): Promise<RunningPushgateway> {
  if (!pushgatewayAvailable) {
    throw new Error(
      `Pushgateway is not installed at ${PUSHGATEWAY_BINARY}: apt-get install prometheus-pushgateway (see .ci/run) or set PUSHGATEWAY_BIN`,
    );
  }
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(
      PUSHGATEWAY_BINARY,
      [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-10_000)));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) {
        return {
          url,
          async stop() {
            if (child.exitCode !== null) return;
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
            if (child.exitCode === null) child.kill('SIGKILL');
          },
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    lastLog = log;
    if (!/address already in use/i.test(log)) break;
  }
  throw new Error(`Pushgateway did not become ready:\n${lastLog}`);
}
