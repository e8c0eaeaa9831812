export {
  Counter,
  createServiceRegistry,
  Histogram,
  type ProviderCallLabels,
  type Registry,
  registerBatchesGauge,
  registerProviderCallHistogram,
} from './src/registry.ts';
