export {
  Counter,
  createServiceRegistry,
  Gauge,
  Histogram,
  type ProviderCallLabels,
  type Registry,
  registerBatchesGauge,
  registerProviderCallHistogram,
} from './src/registry.ts';
