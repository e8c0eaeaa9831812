import { setTimeout as sleep } from 'node:timers/promises';
import { type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import type { PipelineService } from './profiles.ts';

/** Why a service process ended. */
export type ExitCause =
  | 'nemesis-kill' // SIGKILL by the nemesis
  | 'nemesis-terminate' // SIGTERM by the nemesis: must drain and exit 0
  | 'start-failure' // ended before it reported being started (e.g. a dependency was down): restarted
  | 'crash' // ended on its own after it had started: a bug
  | 'crash-point' // killed itself at an armed crash point (BATCHLINE_CRASHPOINT): restarted
  | 'shutdown'; // the end of the run

export interface ExitRecord {
  slot: string;
  pid: number;
  code: number | string;
  cause: ExitCause;
  /** Milliseconds since the start of the run. */
  atMs: number;
}

interface Slot {
  label: string;
  service: PipelineService;
  process: ServiceProcess | null;
  started: boolean;
  paused: boolean;
  /** What the nemesis (or the shutdown) asked of the current process, to attribute its exit. */
  expectedExit: ExitCause | null;
  /** A restart is scheduled: do not start another one. */
  restartPending: boolean;
  /** Extra variables for the next start only (an armed crash point). */
  nextStartEnv: Record<string, string> | null;
  /** The current process runs with a crash point armed. */
  crashPointArmed: boolean;
}

/** After an exit nobody asked for, the fleet restarts the process after this pause (as `batchline up` does). */
const UNPLANNED_RESTART_DELAY_MS = 1_000;

export interface FleetOptions {
  env: NodeJS.ProcessEnv;
  replicas: Readonly<Record<PipelineService, number>>;
  /** Every output line of every process. */
  onLine(slot: string, line: string): void;
  elapsed(): number;
}

/**
 * The service processes of a run, N replicas per service, each a real `batchline run <service>` child process
 * that the nemesis can kill, terminate, pause and restart. A process that ends on its own is restarted (a
 * supervisor would), and its exit is recorded for the checks.
 */
export class Fleet {
  readonly exits: ExitRecord[] = [];
  private readonly slots: Slot[] = [];
  private stopping = false;

  constructor(private readonly options: FleetOptions) {
    for (const [service, count] of Object.entries(options.replicas) as [PipelineService, number][]) {
      for (let replica = 1; replica <= count; replica++) {
        this.slots.push({
          label: `${service}-${replica}`,
          service,
          process: null,
          started: false,
          paused: false,
          expectedExit: null,
          restartPending: false,
          nextStartEnv: null,
          crashPointArmed: false,
        });
      }
    }
  }

  labels(service?: PipelineService): string[] {
    return this.slots.filter((s) => !service || s.service === service).map((s) => s.label);
  }

  /** Starts every process and waits until each reports being started. */
  async start(timeoutMs: number): Promise<void> {
    for (const slot of this.slots) this.spawn(slot);
    const deadline = Date.now() + timeoutMs;
    while (!this.slots.every((slot) => slot.started)) {
      if (Date.now() > deadline) {
        const late = this.slots.filter((s) => !s.started).map((s) => s.label);
        throw new Error(`services not started within ${timeoutMs} ms: ${late.join(', ')}`);
      }
      await sleep(100);
    }
  }

  /** Whether the slot's process is up and running (not down, not paused). */
  isUp(label: string): boolean {
    const slot = this.slot(label);
    return slot.process !== null && slot.started && !slot.paused;
  }

  /** SIGKILL, then a restart after `downMs`. */
  async kill(label: string, downMs: number): Promise<void> {
    const slot = this.slot(label);
    const running = slot.process;
    if (!running) return;
    slot.expectedExit = 'nemesis-kill';
    slot.restartPending = true;
    running.kill('SIGKILL');
    await running.exited;
    await sleep(downMs);
    slot.restartPending = false;
    if (!this.stopping && !slot.process) this.spawn(slot);
  }

  /**
   * Restarts the process with `BATCHLINE_CRASHPOINT=<spec>`: it SIGKILLs itself when it reaches that point, and
   * is then started again without it.
   */
  async armCrashPoint(label: string, spec: string): Promise<void> {
    this.slot(label).nextStartEnv = { BATCHLINE_CRASHPOINT: spec };
    await this.kill(label, 0);
  }

  /** SIGTERM (drain), then a restart after `downMs`. Resolves with the exit code. */
  async terminate(label: string, downMs: number): Promise<number | string | null> {
    const slot = this.slot(label);
    const running = slot.process;
    if (!running) return null;
    slot.expectedExit = 'nemesis-terminate';
    slot.restartPending = true;
    // The runtime's own shutdown deadline is 30 s; past 45 s the drain is hung and the process is killed.
    const code = await running.stop(45_000);
    await sleep(downMs);
    slot.restartPending = false;
    if (!this.stopping && !slot.process) this.spawn(slot);
    return code;
  }

  /** SIGSTOP for `pausedMs`, then SIGCONT (a GC or VM stall). */
  async pause(label: string, pausedMs: number): Promise<void> {
    const slot = this.slot(label);
    const running = slot.process;
    if (!running || slot.paused) return;
    slot.paused = true;
    running.kill('SIGSTOP');
    await sleep(pausedMs);
    this.resume(slot);
  }

  /** Ends every pause and restarts every process that is down, now. */
  heal(): void {
    for (const slot of this.slots) {
      this.resume(slot);
      if (!slot.process && !this.stopping) {
        slot.restartPending = false;
        this.spawn(slot);
      }
    }
  }

  /** SIGTERM to every process; waits for all of them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        this.resume(slot);
        const running = slot.process;
        if (!running) return;
        slot.expectedExit = 'shutdown';
        await running.stop(20_000);
      }),
    );
  }

  private resume(slot: Slot): void {
    if (!slot.paused) return;
    slot.paused = false;
    slot.process?.kill('SIGCONT');
  }

  private slot(label: string): Slot {
    const slot = this.slots.find((s) => s.label === label);
    if (!slot) throw new Error(`no service slot ${label}`);
    return slot;
  }

  private spawn(slot: Slot): void {
    const marker = `${slot.service} started`;
    const env = slot.nextStartEnv ? { ...this.options.env, ...slot.nextStartEnv } : this.options.env;
    slot.crashPointArmed = slot.nextStartEnv !== null;
    slot.nextStartEnv = null;
    const child = spawnServiceProcess({
      name: slot.service,
      env,
      onLine: (line) => {
        if (slot.process === child && !slot.started && line.includes(marker)) slot.started = true;
        this.options.onLine(slot.label, line);
      },
    });
    slot.process = child;
    slot.started = false;
    slot.paused = false;
    slot.expectedExit = null;
    void child.exited.then((code) => this.onExit(slot, child, code));
  }

  private onExit(slot: Slot, child: ServiceProcess, code: number | string): void {
    if (slot.process !== child) return;
    // A process with an armed crash point kills itself with SIGKILL (its last log line may not get out).
    const crashPoint = slot.crashPointArmed && code === 'SIGKILL';
    const cause: ExitCause =
      slot.expectedExit ?? (crashPoint ? 'crash-point' : slot.started ? 'crash' : 'start-failure');
    this.exits.push({ slot: slot.label, pid: child.pid, code, cause, atMs: this.options.elapsed() });
    slot.process = null;
    slot.started = false;
    slot.paused = false;
    // The nemesis restarts what it killed or stopped itself; anything else is restarted here.
    const restartedByNemesis =
      cause === 'nemesis-kill' || cause === 'nemesis-terminate' || cause === 'shutdown';
    if (restartedByNemesis || this.stopping || slot.restartPending) return;
    slot.restartPending = true;
    setTimeout(() => {
      slot.restartPending = false;
      if (!this.stopping && !slot.process) this.spawn(slot);
    }, UNPLANNED_RESTART_DELAY_MS);
  }
}
