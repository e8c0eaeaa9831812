import { hostname } from 'node:os';
import { type Bus, connectBus } from '@batchline/bus';
import {
  loadSettings,
  type Requirement,
  type ServiceSettings,
  type Settings,
  secretValues,
} from '@batchline/config';
import { countBatchesByState, createPool, type Pool } from '@batchline/db';
import { type JobTypeSet, loadJobTypes } from '@batchline/job-types';
import { createLogger, type Logger, registerSecrets } from '@batchline/logging';
import { createServiceRegistry, type Registry, registerBatchesGauge } from '@batchline/metrics';
import { shutdownTelemetry } from '@batchline/telemetry';
import { watchPool } from './database-watch.ts';
import { type HealthServer, startHealthServer } from './health-server.ts';

/** The settings every service reads (its own schema includes them). */
type BaseShape = typeof ServiceSettings;
/** A service's own settings, known to include the shared ones. */
export type ServiceConfig<S extends BaseShape> = Settings<S> & Settings<BaseShape>;

/** What every service gets: its validated settings, a logger, a Postgres pool and a bus with its topology. */
export interface ServiceContext<S extends BaseShape = BaseShape> {
  service: string;
  /** Unique per process: lease owner and log field. */
  instanceId: string;
  config: ServiceConfig<S>;
  log: Logger;
  pool: Pool;
  bus: Bus;
  /** Served on `/metrics` of the health port; the service registers its own metrics here. */
  metrics: Registry;
  /** The built-in job types and those declared in `BATCHLINE_JOB_TYPES`, validated at start. */
  jobTypes: JobTypeSet;
  /** The environment the settings were read from: variables a declaration names (a webhook's URL) are read here. */
  env: NodeJS.ProcessEnv;
}

/** A running service's own work; `stop` must stop taking new work and finish what is in flight. */
export interface ServiceWork {
  stop(): Promise<void>;
}

export interface StartedService<S extends BaseShape = BaseShape> {
  context: ServiceContext<S>;
  health: HealthServer | null;
  /** Stops the work, drains the bus, closes the pool. */
  stop(): Promise<void>;
}

export interface ServiceDefinition<S extends BaseShape = BaseShape> {
  name: string;
  /** Every variable this service reads: the shared service settings and its own (`run <name> --help`). */
  settings: S;
  /** Variables it cannot start without besides DATABASE_URL (a list: at least one of it). */
  requires?: readonly Requirement<S>[];
  /** Health port when HEALTH_PORT is unset (each service has its own so that `batchline up` can run them all). */
  defaultHealthPort: number;
  start(context: ServiceContext<S>): Promise<ServiceWork>;
}

/**
 * Checks a service's definition against its own settings (its `start` sees them typed, its `requires` names
 * them) and returns it as a definition any runner takes: the runner only loads the declared settings and passes
 * them on, so forgetting their exact shape there is safe.
 */
export const defineService = <S extends BaseShape>(definition: ServiceDefinition<S>): ServiceDefinition =>
  definition as unknown as ServiceDefinition;

/** A service's settings read from `env`, or the ConfigError naming the first bad or missing variable. */
export const loadServiceSettings = <S extends BaseShape>(
  definition: ServiceDefinition<S>,
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig<S> =>
  loadSettings(definition.settings, env, {
    require: ['DATABASE_URL' as Requirement<S>, ...(definition.requires ?? [])],
  }) as ServiceConfig<S>;

/** Connects everything a service needs, then starts its work. */
export async function startService<S extends BaseShape>(
  definition: ServiceDefinition<S>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StartedService<S>> {
  const config = loadServiceSettings(definition, env);
  registerSecrets(secretValues(definition.settings, config));
  // A declaration that does not validate stops the start, before any connection is opened (contract §8).
  const jobTypes = loadJobTypes(config.BATCHLINE_JOB_TYPES);
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
    // Lasting trouble with any of this process's statements is announced once per episode (docs/runbook.md).
    watchPool({
      service: definition.name,
      pool,
      bus,
      log,
      troubleAfterMs: config.OPS_DATABASE_TROUBLE_AFTER,
      runbookUrl: config.OPS_RUNBOOK_URL,
    });
    const metrics = createServiceRegistry(definition.name);
    registerBatchesGauge(metrics, () => countBatchesByState(pool));
    const context: ServiceContext<S> = {
      service: definition.name,
      instanceId,
      config,
      log,
      pool,
      bus,
      metrics,
      jobTypes,
      env,
    };
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
 * Runs a service in the foreground: SIGTERM or SIGINT drains in-flight work and exits 0 (docs/interface.md §1); a failure
 * to start exits 1 with a one-line error.
 */
export async function runService<S extends BaseShape>(definition: ServiceDefinition<S>): Promise<void> {
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
