import { hostname } from 'node:os';
import { type Bus, connectBus } from '@batchline/bus';
import { type Config, type ConfigRequirement, loadConfig, secretValues } from '@batchline/config';
import { countBatchesByState, createPool, type Pool } from '@batchline/db';
import { createLogger, type Logger, registerSecrets } from '@batchline/logging';
import { createServiceRegistry, type Registry, registerBatchesGauge } from '@batchline/metrics';
import { shutdownTelemetry } from '@batchline/telemetry';
import { type HealthServer, startHealthServer } from './health-server.ts';

/** What every service gets: validated config, a logger, a Postgres pool and a bus connection with its topology. */
export interface ServiceContext {
  service: string;
  /** Unique per process: lease owner and log field. */
  instanceId: string;
  config: Config;
  log: Logger;
  pool: Pool;
  bus: Bus;
  /** Served on `/metrics` of the health port; the service registers its own metrics here. */
  metrics: Registry;
}

/** A running service's own work; `stop` must stop taking new work and finish what is in flight. */
export interface ServiceWork {
  stop(): Promise<void>;
}

export interface StartedService {
  context: ServiceContext;
  health: HealthServer | null;
  /** Stops the work, drains the bus, closes the pool. */
  stop(): Promise<void>;
}

export interface ServiceDefinition {
  name: string;
  /** Health port when HEALTH_PORT is unset (each service has its own so that `batchline up` can run them all). */
  defaultHealthPort: number;
  /** Variables this service cannot start without, besides DATABASE_URL. */
  requires?: readonly ConfigRequirement[];
  start(context: ServiceContext): Promise<ServiceWork>;
}

/** Every variable a service needs set: DATABASE_URL plus its own. */
export const requiredVariables = (definition: ServiceDefinition): ConfigRequirement[] => [
  'DATABASE_URL',
  ...(definition.requires ?? []),
];

/** Connects everything a service needs, then starts its work. */
export async function startService(
  definition: ServiceDefinition,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StartedService> {
  const config = loadConfig(env, { require: requiredVariables(definition) });
  registerSecrets(secretValues(config));
  const instanceId = `${definition.name}-${hostname()}-${process.pid}`;
  const log = createLogger({ service: definition.name, level: config.LOG_LEVEL }).child({
    instance: instanceId,
  });
  const pool = createPool({
    connectionString: config.DATABASE_URL!,
    log,
    applicationName: `batchline-${definition.name}`,
  });
  let bus: Bus | undefined;
  try {
    bus = await connectBus({
      servers: config.NATS_URL,
      name: instanceId,
      namespace: config.BATCHLINE_NAMESPACE,
      log,
    });
    await bus.ensureTopology({ maxAgeMs: config.STREAM_MAX_AGE, replicas: config.STREAM_REPLICAS });
    const metrics = createServiceRegistry(definition.name);
    registerBatchesGauge(metrics, () => countBatchesByState(pool));
    const context: ServiceContext = { service: definition.name, instanceId, config, log, pool, bus, metrics };
    const work = await definition.start(context);
    // Every service also turns JetStream's max-deliveries advisories into dead letters; the durable consumer
    // shares them out, so each is recorded once whichever services run.
    const deadLetters = bus.recordDeadLetters();
    const connectedBus = bus;
    const health = await startHealthServer(
      config.HEALTH_PORT ?? definition.defaultHealthPort,
      {
        async ready() {
          const busReady = connectedBus.status().connected;
          const dbReady = await pool.query('SELECT 1').then(
            () => true,
            () => false,
          );
          return { ready: busReady && dbReady, checks: { nats: busReady, postgres: dbReady } };
        },
      },
      metrics,
    ).catch((error: unknown) => {
      log.warn({ err: error }, 'health server not started');
      return null;
    });
    log.info({ healthPort: health?.port ?? null }, `${definition.name} started`);
    return {
      context,
      health,
      async stop() {
        log.info(`${definition.name} stopping`);
        await work.stop();
        await deadLetters.stop();
        await connectedBus.drain();
        await health?.close();
        await pool.end();
        log.info(`${definition.name} stopped`);
      },
    };
  } catch (error) {
    await bus?.drain().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs a service in the foreground: SIGTERM or SIGINT drains in-flight work and exits 0 (contract §1); a failure
 * to start exits 1 with a one-line error.
 */
export async function runService(definition: ServiceDefinition): Promise<void> {
  const service = await startService(definition);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.context.log.info({ signal }, 'shutdown requested');
    // A drain that hangs must not keep the process alive forever.
    const deadline = setTimeout(() => {
      service.context.log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, 30_000);
    deadline.unref();
    service
      .stop()
      // Spans still buffered would be lost with the process; an unreachable collector must not fail the exit.
      .then(() => shutdownTelemetry().catch(() => undefined))
      .then(
        () => process.exit(0),
        (error: unknown) => {
          service.context.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
