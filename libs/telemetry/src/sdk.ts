import type { NodeSDK } from '@opentelemetry/sdk-node';

/** Health probes would put a root span in the trace store every few seconds and say nothing. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz']);

let running: NodeSDK | null = null;

/** Tracing is on when an OTLP endpoint is configured (and the SDK is not disabled by the standard switch). */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return Boolean(endpoint) && env.OTEL_SDK_DISABLED?.toLowerCase() !== 'true';
}

/**
 * The `service.name` of a `batchline` process, from its arguments: `run poller` → `batchline-poller`, any other
 * command → `batchline-<command>`.
 */
export function telemetryServiceName(argv: readonly string[]): string {
  const [command, service] = argv;
  if (command === 'run' && service) return `batchline-${service}`;
  return command && /^[a-z][a-z-]*$/.test(command) ? `batchline-${command}` : 'batchline';
}

/**
 * Starts OpenTelemetry tracing when an OTLP endpoint is configured; returns false (having loaded nothing) when
 * not. Must run before the modules it instruments are imported: it registers an ESM loader hook
 * (import-in-the-middle) that intercepts only the modules an instrumentation asked for (pg, pino, node:http),
 * then patches them as they load; fetch/undici is traced through diagnostics channels.
 *
 * Spans leave over OTLP/HTTP (`OTEL_EXPORTER_OTLP_ENDPOINT`, protobuf unless `OTEL_EXPORTER_OTLP_PROTOCOL` says
 * otherwise) in batches (`OTEL_BSP_*`). Metrics and logs are not exported unless `OTEL_METRICS_EXPORTER` /
 * `OTEL_LOGS_EXPORTER` ask for them: Jaeger takes traces only. `OTEL_SERVICE_NAME` overrides `serviceName`.
 */
export async function startTelemetry(options: {
  serviceName: string;
  env?: NodeJS.ProcessEnv;
}): Promise<boolean> {
  const env = options.env ?? process.env;
  if (running) return true;
  if (!tracingConfigured(env)) return false;

  const { register } = await import('node:module');
  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const [{ NodeSDK }, { HttpInstrumentation }, { UndiciInstrumentation }, { PgInstrumentation }, pino] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-undici'),
      import('@opentelemetry/instrumentation-pg'),
      import('@opentelemetry/instrumentation-pino'),
    ]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ? undefined : options.serviceName,
    ...(env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]!),
        requireParentforOutgoingSpans: true,
      }),
      // Only calls made while handling something (a poll, an event) are worth a span.
      new UndiciInstrumentation({ requireParentforSpans: true }),
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      // Adds trace_id / span_id / trace_flags to every log line written inside a span.
      new pino.PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  running = sdk;
  // A command that ends by running out of work (rather than process.exit) exports its last spans first.
  process.once('beforeExit', () => void shutdownTelemetry().catch(() => undefined));
  return true;
}

/** Exports the spans still buffered and stops tracing; does nothing when tracing is off. */
export async function shutdownTelemetry(): Promise<void> {
  const sdk = running;
  running = null;
  await sdk?.shutdown();
}
