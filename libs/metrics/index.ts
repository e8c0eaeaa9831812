export {
  Counter,
  createServiceRegistry,
  Histogram,
  type Registry,
  registerBatchesGauge,
} from './src/registry.ts';
