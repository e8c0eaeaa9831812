import { type Bus, BusConnectionError, connectBus } from '@batchline/bus';
import type { CommandContext } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';

/** Connects to NATS in the configured namespace, runs `fn`, drains the connection (for `replay` and `dlq`). */
export async function withBus<T>(context: CommandContext, fn: (bus: Bus) => Promise<T>): Promise<T> {
  let bus: Bus;
  try {
    bus = await connectBus({
      servers: context.config.NATS_URL,
      name: 'batchline-cli',
      namespace: context.config.BATCHLINE_NAMESPACE,
      log: context.log,
    });
  } catch (error) {
    if (error instanceof BusConnectionError) throw new CommandError(error.message);
    throw error;
  }
  try {
    return await fn(bus);
  } finally {
    await bus.drain();
  }
}

/** A positive whole number from an option or argument, or a usage error naming it. */
export function positiveInteger(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${what} must be a positive whole number`);
  return value;
}
