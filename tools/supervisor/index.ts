export {
  BATCHLINE_BIN,
  PIPELINE_SERVICES,
  SERVICE_NODE_FLAGS,
  type ServiceName,
  type ServiceProcess,
  spawnServiceProcess,
} from './src/service-process.ts';
