export { notifierService } from './src/service.ts';
export { notifierSettings } from './src/settings.ts';
