/**
 * A tiny structured logger passed explicitly to every component (no global logger).
 * Lines are JSON when LOG_FORMAT=json, otherwise `level msg key=value`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface ConsoleLoggerOptions {
  level?: LogLevel;
  json?: boolean;
  write?: (line: string) => void;
}

export function createLogger(options: ConsoleLoggerOptions = {}, bound: LogFields = {}): Logger {
  const level = options.level ?? 'info';
  const json = options.json ?? process.env.LOG_FORMAT === 'json';
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (order[lvl] < order[level]) return;
    const all = { ...bound, ...fields };
    if (json) {
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...all }));
      return;
    }
    const kv = Object.entries(all)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    write(`${lvl.padEnd(5)} ${msg}${kv ? ' ' + kv : ''}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything: the default for libraries and tests. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
