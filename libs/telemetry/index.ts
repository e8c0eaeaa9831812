export { ensureTracePropagation } from './src/propagation.ts';
export { shutdownTelemetry, startTelemetry, telemetryServiceName } from './src/sdk.ts';
export {
  batchAttributes,
  contextFromHeaders,
  hasActiveSpan,
  outsideTraces,
  recordFailure,
  spanContextFromHeaders,
  traceHeaders,
  traceparentOf,
  withSpan,
} from './src/spans.ts';
