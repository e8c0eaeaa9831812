// Loaded into each service by `npm run bench:ingest -- --profile DIR` (NODE_OPTIONS=--import): records a CPU
// profile of the whole process (written as DIR/<service>-<pid>.cpuprofile when it exits) and samples
// process.memoryUsage() every 250 ms into DIR/<service>-<pid>.memory.jsonl, to see what grows from batch to batch.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const dir = process.env.BENCH_PROFILE_DIR;
const service = process.argv.at(-1);
if (dir) {
  const name = `${dir}/${service}-${process.pid}`;
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  const sample = setInterval(() => {
    appendFileSync(
      `${name}.memory.jsonl`,
      `${JSON.stringify({ at: Date.now(), ...process.memoryUsage() })}\n`,
    );
  }, 250);
  sample.unref();
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(`${name}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
