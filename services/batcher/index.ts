export { type QueueGroupView, readQueueView } from './src/queue-view.ts';
export { batcherService } from './src/service.ts';
export { batcherSettings, policiesOf } from './src/settings.ts';
export { requestFlush, setPaused } from './src/store/controls.ts';
