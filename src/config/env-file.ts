/**
 * `--env-file <file>`: the `KEY=value` lines `canary target` prints (or any dotenv-style file) put
 * into the process environment, so secrets named by variable in the config resolve from it.
 *
 *   line    = blank | "#" comment | [ "export " ] KEY "=" value
 *   KEY     = letter or "_", then letters, digits, "_"
 *   value   = rest of the line, trimmed; or '…' / "…" quoted (quotes removed; "\n" in "…" is a newline)
 *
 * Variables already set in the environment win, as with dotenv and `node --env-file`: a CI secret
 * is never overridden by a file. Errors name the file and line.
 */
import fs from 'node:fs';
import { CanaryError } from '../shared/index.js';

const LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/** The variables of an env file's text; `source` names it in errors. */
export function parseEnvFile(text: string, source: string): Record<string, string> {
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = LINE.exec(line);
    if (!match) {
      throw new CanaryError('CONFIG_INVALID', `${source}:${index + 1}: "${line}" is not a KEY=value line`, {
        hint: 'write one VARIABLE=value per line (comments start with #), as `canary target` prints them',
      });
    }
    let value = (match[2] ?? '').trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      // An unquoted value ends at an inline comment.
      value = value.replace(/\s+#.*$/, '');
    }
    values[match[1] as string] = value;
  });
  return values;
}

/**
 * Reads `file` into `env` (default process.env) without overriding variables already set.
 * Returns the names it set.
 */
export function loadEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CanaryError(
      'CONFIG_NOT_FOUND',
      `--env-file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      {
        hint: 'give the path of a KEY=value file, e.g. the output of `canary target > .env`',
        cause: error,
      },
    );
  }
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnvFile(text, file))) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
