#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx batchline` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
// Tracing must start before the modules it instruments (pg, pino, http) are imported; without an OTLP endpoint
// nothing of OpenTelemetry's SDK is even loaded.
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
  const { startTelemetry, telemetryServiceName } = await import('@batchline/telemetry');
  await startTelemetry({ serviceName: telemetryServiceName(process.argv.slice(2)) });
}
await import('../src/main.ts');
