/** `canary load --out`: outputs are `kind=URL`; the report directory moved to --report-dir. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitOutFlags } from '../../src/cli/commands/load.js';
import { runCli, tempDir } from './load-support.js';

describe('canary load --out', () => {
  it('collects outputs and keeps --report-dir for the reports', () => {
    expect(
      splitOutFlags(
        ['prometheus-rw=http://127.0.0.1:9090/api/v1/write', 'pushgateway=http://127.0.0.1:9091'],
        'out',
      ),
    ).toEqual({
      outputs: [
        { kind: 'prometheus-rw', url: 'http://127.0.0.1:9090/api/v1/write' },
        { kind: 'pushgateway', url: 'http://127.0.0.1:9091' },
      ],
      reportDir: 'out',
    });
  });

  it('still takes a directory, the old meaning, with a deprecation warning', async () => {
    const dir = tempDir('out-flag');
    const reports = path.join(dir, 'reports');
    // A scenario file that does not exist: the run fails at once, after reading its flags.
    const result = await runCli(['load', path.join(dir, 'missing.yaml'), '--out', reports], {
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--out <dir> for reports is deprecated; use --report-dir ${reports}`);
    expect(splitOutFlags([reports], undefined)).toEqual({ outputs: [], reportDir: reports });
  });

  it('names an unknown output kind and a directory given twice', () => {
    expect(() => splitOutFlags(['influxdb=http://x'], undefined)).toThrow(
      '--out "influxdb=http://x" is not an output',
    );
    expect(() => splitOutFlags(['a-dir'], 'b-dir')).toThrow('--out "a-dir" is not an output');
  });
});
