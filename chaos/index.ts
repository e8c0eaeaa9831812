export type { ConsumerState, DeadLetter } from './src/bus-probe.ts';
export { type PlannedFault, planFaults } from './src/fault-plan.ts';
export { evaluateInvariants, type InvariantResult } from './src/invariants.ts';
export type { FaultRecord } from './src/nemesis.ts';
export type { BatchExpectation, BatchState, RunObservations, SlackPost } from './src/observations.ts';
export {
  BATCH_KINDS,
  type BatchKind,
  FAULT_KINDS,
  type FaultKind,
  PROFILES,
  type Profile,
  type ProfileName,
  profileWith,
} from './src/profiles.ts';
export { type ChaosReport, type FaultSummary, formatReport } from './src/report.ts';
export { Rng, randomSeed } from './src/rng.ts';
export { type ChaosOptions, type ChaosRun, runChaos } from './src/run-chaos.ts';
export { type BatchSpec, planWorkload } from './src/workload.ts';
