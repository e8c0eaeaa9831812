export { persisterService } from './src/service.ts';
