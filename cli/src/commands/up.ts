import { loadServiceSettings } from '@batchline/runtime';
import {
  PIPELINE_SERVICES,
  type ServiceName,
  type ServiceProcess,
  spawnServiceProcess,
} from '@batchline/supervisor';
import type { Command } from './command.ts';
import { SERVICES } from './run.ts';

const RESTART_DELAY_MS = 2000;
/** The pipeline and the monitor: everything `batchline run` knows. */
const ALL_SERVICES: readonly ServiceName[] = [...PIPELINE_SERVICES, 'monitor', 'batcher'];

export const upCommand: Command = {
  name: 'up',
  usage: 'batchline up',
  summary: 'runs every service, each as its own process, until interrupted (restarting any that dies)',
  options: {},
  async run() {
    // Validate every service's settings once here, so a bad or missing variable is one clear error, not a
    // restart loop.
    for (const definition of await Promise.all(ALL_SERVICES.map((name) => SERVICES[name]!()))) {
      loadServiceSettings(definition);
    }
    let stopping = false;
    const running = new Map<string, ServiceProcess>();
    const start = (name: ServiceName) => {
      const service = spawnServiceProcess({
        name,
        env: process.env,
        onLine: (line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`),
      });
      running.set(name, service);
      void service.exited.then((code) => {
        if (stopping) return;
        console.error(`batchline up: ${name} exited (${code}); restarting in ${RESTART_DELAY_MS / 1000} s`);
        setTimeout(() => !stopping && start(name), RESTART_DELAY_MS);
      });
    };
    for (const name of ALL_SERVICES) start(name);
    await new Promise<void>((resolve) => {
      const stop = () => {
        if (stopping) return;
        stopping = true;
        void Promise.all([...running.values()].map((service) => service.stop())).then(() => resolve());
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
