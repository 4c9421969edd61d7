/**
 * Error texts leave this area in statuses, publish results and logs; none may carry a key or a
 * token. Known secrets are replaced by value, and anything shaped like a JWT or an `apikey=` query
 * parameter is masked too, because libraries echo URLs and headers in their messages.
 */
const JWT_SHAPE = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;
const APIKEY_PARAM = /(apikey=)[^&\s"']+/gi;
const BEARER = /(Bearer\s+)[^\s"',]+/gi;
const NEW_STYLE_KEY = /sb_(publishable|secret)_[\w-]+/g;

export const REDACTED = '[redacted]';

export function scrubSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let scrubbed = text;
  for (const secret of secrets) {
    // Short strings would blank out ordinary words; real keys are long.
    if (secret && secret.length >= 8) scrubbed = scrubbed.split(secret).join(REDACTED);
  }
  return scrubbed
    .replace(JWT_SHAPE, REDACTED)
    .replace(APIKEY_PARAM, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(NEW_STYLE_KEY, REDACTED);
}
