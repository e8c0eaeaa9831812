import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log object. Secrets that hide inside strings (a webhook URL in an
 * error message, a DSN) are handled by `redactSecretsIn`, which the error serializer applies.
 */
const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'tokens',
  '*.tokens',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'webhookUrl',
  '*.webhookUrl',
  'databaseUrl',
  '*.databaseUrl',
  'password',
  '*.password',
  'config.OPENAI_API_KEY',
  'config.ANTHROPIC_API_KEY',
  'config.SLACK_WEBHOOK_URL',
  'config.SLACK_CRITICAL_WEBHOOK_URL',
  'config.ADMIN_TOKENS',
  'config.DATABASE_URL',
];

const SECRET_PATTERNS: readonly RegExp[] = [
  // Slack incoming webhook paths are the credential.
  /https:\/\/hooks\.slack\.com\/[^\s"']+/gi,
  // OpenAI / Anthropic style keys.
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  // Bearer tokens.
  /\b(Bearer\s+)[^\s"']+/gi,
  // Passwords inside connection URLs: scheme://user:password@host
  /(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s"'@]+:)[^@\s"']+(@)/gi,
];

/** Extra literal secrets (configured keys, webhook URLs, tokens) that must never be printed. */
const knownSecrets = new Set<string>();

/** Registers configured secret values so that they are masked wherever they appear in log text. */
export function registerSecrets(values: Iterable<string | undefined | null>): void {
  for (const value of values) if (value && value.length >= 6) knownSecrets.add(value);
}

/** Masks secrets inside free text (error messages, stacks, URLs). */
export function redactSecretsIn(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('[REDACTED]');
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix?: string, suffix?: string) =>
      typeof prefix === 'string' && typeof suffix === 'string'
        ? `${prefix}[REDACTED]${suffix}`
        : typeof prefix === 'string'
          ? `${prefix}[REDACTED]`
          : '[REDACTED]',
    );
  }
  return out;
}

function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: redactSecretsIn(String(err)) };
  const out: Record<string, unknown> = {
    type: err.name,
    message: redactSecretsIn(err.message),
    stack: err.stack ? redactSecretsIn(err.stack) : undefined,
  };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number') out.status = status;
  if (err.cause !== undefined) out.cause = serializeError(err.cause);
  return out;
}

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to inspect lines. */
  destination?: pino.DestinationStream;
}

/** A pino JSON logger tagged with the service name, with secrets redacted. */
export function createLogger({ service, level = 'info', destination }: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: { err: serializeError, error: serializeError },
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
