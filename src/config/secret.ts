/**
 * Secrets are named in config files by environment-variable NAME and resolved at the edge into a
 * Secret, which prints as `[redacted]` everywhere (string conversion, JSON, util.inspect), so a
 * key cannot leak into logs, metrics, status JSON or reports by accident. Only `reveal()` gives
 * the value, at the one place it is sent over the wire.
 */
import { CanaryError } from '../shared/index.js';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;
  /** The env var the value came from (safe to print). */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${this.source}: ${REDACTED})`;
  }
}

/** A reference to resolve: the variable, and the config key that named it (for the error). */
export interface EnvVarReference {
  variable: string;
  key: string;
  file?: string;
}

/**
 * Collects env-var lookups so every missing variable is reported in one ENV_VAR_MISSING error,
 * each naming the variable and the key that referenced it.
 */
export class EnvVarResolver {
  private readonly missing: EnvVarReference[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  secret(reference: EnvVarReference): Secret {
    const value = this.env[reference.variable];
    if (value === undefined || value === '') {
      this.missing.push(reference);
      return new Secret('', reference.variable);
    }
    return new Secret(value, reference.variable);
  }

  /** Throws ENV_VAR_MISSING listing every missing variable; no-op when all were set. */
  assertComplete(): void {
    if (this.missing.length === 0) return;
    const lines = this.missing.map(
      (m) => `  ${m.variable} (referenced by ${m.file ? `${m.file}: ` : ''}${m.key}) is not set`,
    );
    throw new CanaryError(
      'ENV_VAR_MISSING',
      `${this.missing.length === 1 ? 'an environment variable is' : `${this.missing.length} environment variables are`} missing:\n${lines.join('\n')}`,
      {
        hint: `export ${this.missing.map((m) => m.variable).join(', ')} (e.g. in your shell or CI secrets), or remove the environments that need them with --env`,
      },
    );
  }
}
