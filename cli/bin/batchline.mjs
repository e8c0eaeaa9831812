#!/usr/bin/env node
// Runs the CLI compiled into cli/dist/ by `npm ci` (cli/build.mjs) while it matches the sources, else the
// TypeScript sources through tsx — so `npx batchline` works right after `npm ci` and in a tree being edited.
import { compiledEntries } from './compiled.mjs';

const compiled = compiledEntries();
if (!compiled) {
  const { register } = await import('tsx/esm/api');
  register();
}
// Tracing must start before the modules it instruments (pg, pino, http) are imported; without an OTLP endpoint
// nothing of OpenTelemetry's SDK is even loaded.
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
  const { startTelemetry, telemetryServiceName } = await import(
    compiled?.telemetry ?? '@batchline/telemetry'
  );
  await startTelemetry({ serviceName: telemetryServiceName(process.argv.slice(2)) });
}
await import(compiled?.main ?? '../src/main.ts');
