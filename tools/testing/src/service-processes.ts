import {
  PIPELINE_SERVICES,
  type ServiceName,
  type ServiceProcess,
  spawnServiceProcess,
} from '@batchline/supervisor';

export interface PipelineEnv {
  databaseUrl: string;
  natsUrl: string;
  namespace: string;
  openaiBaseUrl: string;
  slackWebhookUrl?: string;
  /** Extra variables (e.g. a faster POLL_SCHEDULE). */
  extra?: Record<string, string>;
}

/** The environment a service child process gets in tests: fast polling, its own namespace, free health ports. */
export function pipelineEnv(options: PipelineEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: options.databaseUrl,
    NATS_URL: options.natsUrl,
    BATCHLINE_NAMESPACE: options.namespace,
    OPENAI_BASE_URL: options.openaiBaseUrl,
    OPENAI_API_KEY: 'sk-test-canary-0123456789abcdef',
    POLL_SCHEDULE: '200ms,400ms',
    POLL_TICK: '100ms',
    HEALTH_PORT: '0',
    LOG_LEVEL: 'info',
    ...options.extra,
  };
  if (options.slackWebhookUrl) env.SLACK_WEBHOOK_URL = options.slackWebhookUrl;
  return env;
}

export interface RunningPipeline {
  services: ServiceProcess[];
  /** Every log line every service printed, tagged with the service name. */
  logs: { service: ServiceName; line: string }[];
  /** Starts one more process of a service (e.g. after killing one). */
  start(name: ServiceName): ServiceProcess;
  stop(): Promise<void>;
}

/** Runs poller, fetcher, persister and notifier as four child processes. */
export function startPipeline(
  env: NodeJS.ProcessEnv,
  names: readonly ServiceName[] = PIPELINE_SERVICES,
): RunningPipeline {
  const logs: RunningPipeline['logs'] = [];
  const services: ServiceProcess[] = [];
  const start = (name: ServiceName) => {
    const service = spawnServiceProcess({ name, env, onLine: (line) => logs.push({ service: name, line }) });
    services.push(service);
    return service;
  };
  for (const name of names) start(name);
  return {
    services,
    logs,
    start,
    async stop() {
      await Promise.all(services.map((service) => service.stop()));
    },
  };
}
