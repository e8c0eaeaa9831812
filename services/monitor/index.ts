export { buildApp } from './src/app.ts';
export { monitorService } from './src/service.ts';
