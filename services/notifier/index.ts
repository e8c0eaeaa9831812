export { notifierService } from './src/service.ts';
