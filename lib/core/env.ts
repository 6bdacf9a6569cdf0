/**
 * Reading settings from the environment: each service passes its own `misconfigured` function
 * so the message says which service is misconfigured; the result is a ConfigurationError-style
 * internal error (500 to callers, the message in the log for the operator).
 */
export type Environment = Readonly<Record<string, string | undefined>>;

/** An integer setting in [min, max], or `fallback` when unset or empty. */
export function envInteger(
  env: Environment,
  name: string,
  fallback: number,
  min: number,
  max: number,
  misconfigured: (message: string) => Error,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw misconfigured(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

/** A boolean setting ("true"/"1" or "false"/"0", any case), or `fallback` when unset or empty. */
export function envBoolean(env: Environment, name: string, fallback: boolean, misconfigured: (message: string) => Error): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw misconfigured(`${name} must be "true" or "false"`);
}
