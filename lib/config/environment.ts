/**
 * The configuration reader: the one module that reads process.env. Every setting is read by its
 * key in the table (settings.ts), which gives its variable, default and bounds, so parsing and
 * checking live here once. A bad value is a misconfiguration: by default a ConfigurationError
 * (an internal error to callers; the message, which names the variable and what it accepts, goes
 * to the log for the operator). Values are read when asked for, never cached: a process reads a
 * setting when it first needs it, and tests can change the environment between reads.
 */
import { ConfigurationError } from '../core/errors';
import { SETTINGS } from './settings';
import type { SettingKey, SettingsTable } from './settings';
import type { ChoiceSetting, Environment, IntegerSetting, ListSetting, NumberSetting, SettingSpec, SettingValue } from './types';

export interface EnvironmentConfigOptions {
  /** The error a misconfiguration becomes. Default: ConfigurationError. */
  readonly misconfigured?: (message: string) => Error;
}

/** At most this much of a bad value is quoted back in a message. */
const SHOWN_CHARS = 40;

function shown(raw: string): string {
  return JSON.stringify(raw.length > SHOWN_CHARS ? `${raw.slice(0, SHOWN_CHARS)}...` : raw);
}

/** `"a" (meaning), "b" (meaning) or "c" (meaning)` */
function choiceList(spec: ChoiceSetting): string {
  const items = Object.entries(spec.choices).map(([value, meaning]) => `"${value}" (${meaning})`);
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

export class EnvironmentConfig {
  private readonly env: Environment;
  private readonly misconfigured: (message: string) => Error;

  /** @param env the variables to read; default: this process's environment (none in a browser). */
  constructor(env?: Environment, options: EnvironmentConfigOptions = {}) {
    this.env = env ?? (typeof process === 'undefined' ? {} : process.env);
    this.misconfigured = options.misconfigured ?? ((message) => new ConfigurationError(message));
  }

  /** The setting's value: parsed, checked against its bounds, or its default when unset. */
  get<K extends SettingKey>(key: K): SettingValue<SettingsTable[K]> {
    const spec: SettingSpec = SETTINGS[key];
    const raw = this.raw(spec);
    return (raw === undefined ? this.fallback(spec) : this.parse(spec, raw)) as SettingValue<SettingsTable[K]>;
  }

  /** Whether the variable (or an alias) is set, for a default that depends on another setting. */
  isSet(key: SettingKey): boolean {
    return this.raw(SETTINGS[key]) !== undefined;
  }

  /** Like get, for a setting without a default that the caller cannot do without. */
  require<K extends SettingKey>(key: K): NonNullable<SettingValue<SettingsTable[K]>> {
    const value = this.get(key);
    if (value === undefined) {
      const spec: SettingSpec = SETTINGS[key];
      if (spec.kind === 'choice') throw this.misconfigured(`set ${spec.name} to ${choiceList(spec)}`);
      throw this.misconfigured(`environment variable ${spec.name} is not set (${spec.purpose}): set it before starting the service`);
    }
    return value as NonNullable<SettingValue<SettingsTable[K]>>;
  }

  /** The trimmed value of the variable or its first set alias; undefined when unset or empty. */
  private raw(spec: SettingSpec): string | undefined {
    for (const name of [spec.name, ...(spec.aliases ?? [])]) {
      const value = this.env[name]?.trim();
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  }

  private fallback(spec: SettingSpec): unknown {
    return 'default' in spec ? spec.default : undefined;
  }

  private parse(spec: SettingSpec, raw: string): unknown {
    switch (spec.kind) {
      case 'text':
        return raw;
      case 'integer':
      case 'number':
        return this.parseNumber(spec, raw);
      case 'flag': {
        const value = raw.toLowerCase();
        if (value === 'true' || value === '1') return true;
        if (value === 'false' || value === '0') return false;
        throw this.misconfigured(`${spec.name} must be "true" or "false"`);
      }
      case 'choice':
        return this.parseChoice(spec, raw);
      case 'list':
        return this.parseList(spec, raw);
    }
  }

  private parseNumber(spec: IntegerSetting | NumberSetting, raw: string): number {
    const value = Number(raw);
    const valid = spec.kind === 'integer' ? Number.isInteger(value) : Number.isFinite(value);
    if (!valid || value < spec.min || value > spec.max) {
      const what = spec.kind === 'integer' ? 'an integer' : 'a number';
      throw this.misconfigured(`${spec.name} must be ${what} from ${spec.min} to ${spec.max} (${spec.unit}), not ${shown(raw)}`);
    }
    return value;
  }

  private parseChoice(spec: ChoiceSetting, raw: string): string {
    const wanted = spec.case === 'upper' ? raw.toUpperCase() : raw.toLowerCase();
    if (Object.hasOwn(spec.choices, wanted)) return wanted;
    throw this.misconfigured(`${spec.name} is ${shown(raw)}: set ${spec.name} to ${choiceList(spec)}`);
  }

  private parseList(spec: ListSetting, raw: string): readonly string[] {
    const items = raw
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item !== '');
    for (const item of items) {
      if (!spec.item.pattern.test(item)) throw this.misconfigured(`${spec.name} entry ${shown(item)} is not ${spec.item.description}`);
    }
    return items;
  }
}

/** Reads this process's environment. */
export function processConfig(options?: EnvironmentConfigOptions): EnvironmentConfig {
  return new EnvironmentConfig(undefined, options);
}
