/** A command-line usage or input error: printed as one line, exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** A failure the user can act on (bad input file, unreachable dependency): printed as one line, exit code 1. */
export class CommandError extends Error {
  readonly code = 'COMMAND_FAILED';
}
