export {
  BATCHLINE_BIN,
  PIPELINE_SERVICES,
  type ServiceName,
  type ServiceProcess,
  spawnServiceProcess,
} from './src/service-process.ts';
