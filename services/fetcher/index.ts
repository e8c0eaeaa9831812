export { fetcherService } from './src/service.ts';
