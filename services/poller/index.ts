export { pollerService } from './src/service.ts';
