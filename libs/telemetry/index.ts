export { ensureTracePropagation } from './src/propagation.ts';
export { shutdownTelemetry, startTelemetry, telemetryServiceName, tracingConfigured } from './src/sdk.ts';
export {
  batchAttributes,
  batchlineTracer,
  contextFromHeaders,
  hasActiveSpan,
  outsideTraces,
  recordFailure,
  spanContextFromHeaders,
  traceHeaders,
  traceparentOf,
  withSpan,
} from './src/spans.ts';
