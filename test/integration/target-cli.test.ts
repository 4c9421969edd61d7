import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START_TIMEOUT_MS = 45_000;

interface RunningTarget {
  child: ChildProcess;
  env: Record<string, string>;
  postgresPid: number;
  dataDir: string;
  readyAfterMs: number;
  stderr: () => string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'target', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'text', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function startCli(args: string[]): Promise<RunningTarget> {
  const started = performance.now();
  const run = spawnCli(args);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/postgresPid=\d+/.test(run.stderr())) {
    if (run.child.exitCode !== null) throw new Error(`canary target exited early: ${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`canary target not ready in time: ${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const readyAfterMs = performance.now() - started;
  const env = Object.fromEntries(
    run
      .stdout()
      .trim()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
  return {
    child: run.child,
    env,
    postgresPid: Number(/postgresPid=(\d+)/.exec(run.stderr())?.[1]),
    dataDir: /dataDir=(\S+)/.exec(run.stderr())?.[1] ?? '',
    readyAfterMs,
    stderr: run.stderr,
    exit: run.exit,
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('canary target', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`prints a usable environment and leaves no process or directory behind after ${signal}`, async () => {
      const target = await startCli(['--port', '0', '--seed-mechanics', '2']);
      expect(Object.keys(target.env)).toEqual(
        expect.arrayContaining([
          'SUPABASE_URL',
          'SUPABASE_ANON_KEY',
          'SUPABASE_SERVICE_ROLE_KEY',
          'DATABASE_URL',
          'MECHANIC_ID',
          'MECHANIC_TOKEN',
          'MECHANIC_ID_2',
          'CANARY_ADMIN_TOKEN',
        ]),
      );
      // Generous bound for a loaded shared machine; the start time itself is printed by the CLI.
      expect(target.readyAfterMs).toBeLessThan(30_000);
      const queue = await fetch(`${target.env.SUPABASE_URL}/api/mechanic/queue`, {
        headers: { Authorization: `Bearer ${target.env.MECHANIC_TOKEN}` },
      });
      expect(queue.status).toBe(200);
      expect(isAlive(target.postgresPid)).toBe(true);
      expect(fs.existsSync(target.dataDir)).toBe(true);

      target.child.kill(signal);
      expect(await target.exit).toBe(0);
      expect(isAlive(target.postgresPid)).toBe(false);
      expect(fs.existsSync(target.dataDir)).toBe(false);
      expect(target.stderr()).toContain('local target stopped');
    });
  }

  it('keeps a directory given with --data-dir', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-target-cli-'));
    // Running as root, Postgres runs as the postgres OS user, which must traverse the parent.
    fs.chmodSync(parent, 0o755);
    const dataDir = path.join(parent, 'db');
    try {
      const target = await startCli(['--port', '0', '--data-dir', dataDir]);
      target.child.kill('SIGTERM');
      expect(await target.exit).toBe(0);
      expect(isAlive(target.postgresPid)).toBe(false);
      expect(fs.existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it('refuses a taken port with PORT_IN_USE naming the port and the flag', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = spawnCli(['--port', String(port)]);
      expect(await run.exit).toBe(2);
      expect(run.stderr()).toContain('PORT_IN_USE');
      expect(run.stderr()).toContain(String(port));
      expect(run.stderr()).toContain('--port');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('prints the publishable, secret and JWKS lines and the email and password of each mechanic, and no JWT secret in asymmetric mode', async () => {
    const target = await startCli([
      '--port',
      '0',
      '--jwt-mode',
      'asymmetric',
      '--access-token-ttl',
      '20s',
      '--seed-mechanics',
      '2',
    ]);
    try {
      expect(target.env.SUPABASE_PUBLISHABLE_KEY).toMatch(/^sb_publishable_/);
      expect(target.env.SUPABASE_SECRET_KEY).toMatch(/^sb_secret_/);
      expect(target.env.SUPABASE_ANON_KEY).toBe(target.env.SUPABASE_PUBLISHABLE_KEY);
      expect(target.env.SUPABASE_SERVICE_ROLE_KEY).toBe(target.env.SUPABASE_SECRET_KEY);
      expect(target.env.SUPABASE_JWKS_URL).toBe(`${target.env.SUPABASE_URL}/auth/v1/.well-known/jwks.json`);
      expect(target.env.SUPABASE_JWT_SECRET).toBeUndefined();
      expect(target.env.MECHANIC_EMAIL).toMatch(/@canary\.local$/);
      expect(target.env.MECHANIC_EMAIL_2).toMatch(/@canary\.local$/);
      expect(target.env.MECHANIC_PASSWORD_2).toBeDefined();
      const claims = decodeJwt(target.env.MECHANIC_TOKEN!);
      expect(claims.exp! - claims.iat!).toBe(20);
      const signIn = await fetch(`${target.env.SUPABASE_URL}/auth/v1/token?grant_type=password`, {
        method: 'POST',
        headers: { apikey: target.env.SUPABASE_PUBLISHABLE_KEY!, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          email: target.env.MECHANIC_EMAIL_2,
          password: target.env.MECHANIC_PASSWORD_2,
        }),
      });
      expect(signIn.status).toBe(200);
      expect(((await signIn.json()) as { user: { id: string } }).user.id).toBe(target.env.MECHANIC_ID_2);
    } finally {
      target.child.kill('SIGTERM');
      expect(await target.exit).toBe(0);
    }
  });

  it('refuses an unknown --jwt-mode and a malformed --access-token-ttl with a hint', async () => {
    const mode = spawnCli(['--jwt-mode', 'rsa']);
    const ttl = spawnCli(['--access-token-ttl', 'soon']);
    expect(await mode.exit).toBe(2);
    expect(mode.stderr()).toMatch(/CLI_USAGE: --jwt-mode "rsa" is not a JWT mode\n\s+fix: use legacy/);
    expect(await ttl.exit).toBe(2);
    expect(ttl.stderr()).toMatch(/CLI_USAGE: --access-token-ttl "soon" is not a token lifetime\n\s+fix: /);
  });

  it('serves https with --tls and prints the CA file as NODE_EXTRA_CA_CERTS, which a client can use as it is', async () => {
    const target = await startCli(['--port', '0', '--tls', '--seed-mechanics', '0']);
    const caFile = target.env.CANARY_TLS_CA_FILE ?? '';
    try {
      expect(target.env.SUPABASE_URL).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(target.env.SUPABASE_JWKS_URL).toBe(`${target.env.SUPABASE_URL}/auth/v1/.well-known/jwks.json`);
      expect(target.env.NODE_EXTRA_CA_CERTS).toBe(caFile);
      expect(fs.readFileSync(caFile, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
      expect(target.stderr()).toContain(`tlsCaFile=${caFile}`);
      expect(target.stderr()).toMatch(/tlsCaFingerprint256=([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      // A separate Node process, trusting the CA only through the printed line.
      const client = spawn(
        process.execPath,
        [
          '-e',
          'fetch(process.argv[1]).then(async (r) => console.log(r.status, await r.text()))',
          `${target.env.SUPABASE_URL}/healthz`,
        ],
        {
          env: { ...process.env, NODE_EXTRA_CA_CERTS: target.env.NODE_EXTRA_CA_CERTS },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(client);
      let output = '';
      client.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      client.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      expect(await new Promise((resolve) => client.once('exit', resolve))).toBe(0);
      expect(output.trim()).toBe('200 {"status":"ok"}');
    } finally {
      target.child.kill('SIGTERM');
      expect(await target.exit).toBe(0);
    }
    expect(fs.existsSync(path.dirname(caFile))).toBe(false);
  });

  it('refuses --tls-cert without --tls-key, and a CANARY_TARGET_TLS that is not 1 or 0, with a hint', async () => {
    const certOnly = spawnCli(['--port', '0', '--tls-cert', 'cert.pem']);
    const badEnv = spawnCli(['--port', '0'], { CANARY_TARGET_TLS: 'maybe' });
    expect(await certOnly.exit).toBe(2);
    expect(certOnly.stderr()).toMatch(
      /CLI_USAGE: --tls-cert is given without --tls-key\n\s+fix: pass both --tls-cert <file> and --tls-key <file>/,
    );
    expect(await badEnv.exit).toBe(2);
    expect(badEnv.stderr()).toMatch(/CLI_USAGE: CANARY_TARGET_TLS is "maybe", not 1 or 0\n\s+fix: /);
  });

  it('refuses a malformed flag with a hint', async () => {
    const run = spawnCli(['--seed-mechanics', 'many']);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(/CLI_USAGE: --seed-mechanics "many" is not a count\n\s+fix: /);
  });
});
