import {
  commaList,
  duration,
  OpenAISettings,
  PollScheduleSettings,
  PricingSettings,
  port,
  RetentionPurgeSettings,
  RetentionSettings,
  ServiceSettings,
  type Settings,
  setting,
} from '@batchline/config';

/** Every variable the monitor reads (`batchline run monitor --help` lists them). */
export const monitorSettings = {
  ...ServiceSettings,
  // Retry and cancel act on OpenAI batches; a retry's first check follows the poll schedule.
  ...OpenAISettings,
  ...PollScheduleSettings,
  ...PricingSettings,
  // The monitor runs the purge of batchline's history (ARCHITECTURE.md, "Retention").
  ...RetentionSettings,
  ...RetentionPurgeSettings,
  MONITOR_PORT: setting(port, {
    description: "the monitor's port: admin API, dashboard, /healthz, /readyz, /metrics",
    default: '8080',
    fix: 'Use a TCP port number between 0 and 65535.',
  }),
  ADMIN_TOKENS: setting(commaList, {
    description:
      'bearer tokens that may read the admin API and act (retry, cancel, pause, priority, alert rules)',
    default: '',
    secret: true,
  }),
  ADMIN_READONLY_TOKENS: setting(commaList, {
    description: 'bearer tokens that may only read the admin API',
    default: '',
    secret: true,
  }),
  MONITOR_ALERT_INTERVAL: setting(duration, {
    description: 'how often the monitor evaluates its alert rules',
    default: '1m',
  }),
  RETRY_SWEEP_INTERVAL: setting(duration, {
    description: 'how often each monitor replica looks for due automatic retry rounds and submits them',
    default: '10s',
  }),
};
export type MonitorSettings = Settings<typeof monitorSettings>;
