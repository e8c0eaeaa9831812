export { batcherService } from './src/service.ts';
export { batcherSettings } from './src/settings.ts';
export { requestFlush, setPaused } from './src/store/controls.ts';
