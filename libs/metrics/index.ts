export {
  Counter,
  createServiceRegistry,
  Gauge,
  Histogram,
  type Registry,
  registerBatchesGauge,
} from './src/registry.ts';
