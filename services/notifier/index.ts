export { notifierService } from './src/service.ts';
export { notifierSettings } from './src/settings.ts';
export {
  DELIVERY_STATES,
  type DeliveryRecord,
  type DeliveryState,
  listDeliveries,
} from './src/store/webhook-deliveries.ts';
