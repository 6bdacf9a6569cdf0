/**
 * The shapes of a setting in the table of settings.ts: what kind of value it holds, its default
 * and its bounds. The reader (environment.ts) parses and checks a variable by its entry.
 */

/** Environment variables by name (the process's own, or a map tests and tools pass). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Sections of the settings table (and of docs/configuration.md). */
export type SettingGroup = 'storage' | 'logging' | 'cs1' | 'cs1-to-cs2' | 'cs2' | 'features' | 'tools';

interface SettingBase {
  /** The environment variable. */
  readonly name: string;
  /** What it is for, shown in the docs and in the message when it is missing. */
  readonly purpose: string;
  readonly group: SettingGroup;
  /** When the setting must be given (docs); a setting without a default is optional otherwise. */
  readonly requiredWhen?: string;
  /** Older names read when `name` is unset or empty (first set one wins). */
  readonly aliases?: readonly string[];
}

/** Free text: a name, a path, a URL. Unset or empty reads as the default (if any). */
export interface TextSetting extends SettingBase {
  readonly kind: 'text';
  readonly default?: string;
  /** Never shown in messages or docs examples (credentials). */
  readonly secret?: boolean;
}

/** A whole number in [min, max]. */
export interface IntegerSetting extends SettingBase {
  readonly kind: 'integer';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

/** A finite number in [min, max] (fractions allowed). */
export interface NumberSetting extends SettingBase {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

/** "true"/"1" or "false"/"0" (any case); unset or empty is the default. */
export interface FlagSetting extends SettingBase {
  readonly kind: 'flag';
  readonly default: boolean;
}

/** One of a fixed set of values (matched without regard to case), each with its meaning. */
export interface ChoiceSetting<V extends string = string> extends SettingBase {
  readonly kind: 'choice';
  readonly choices: Readonly<Record<V, string>>;
  readonly default?: V;
  /** The value as written in `choices` is returned in this case. */
  readonly case: 'lower' | 'upper';
}

/** A comma-separated list; each entry trimmed, lowercased and checked against `item`. */
export interface ListSetting extends SettingBase {
  readonly kind: 'list';
  readonly default: readonly string[];
  readonly item: { readonly pattern: RegExp; readonly description: string };
}

export type SettingSpec = TextSetting | IntegerSetting | NumberSetting | FlagSetting | ChoiceSetting | ListSetting;

/** The type `get` returns for a setting: defaults make a value always present. */
export type SettingValue<S extends SettingSpec> = S extends { kind: 'integer' | 'number' }
  ? number
  : S extends { kind: 'flag' }
    ? boolean
    : S extends { kind: 'list' }
      ? readonly string[]
      : S extends { kind: 'choice'; choices: Readonly<Record<infer V, string>> }
        ? S extends { default: string }
          ? V
          : V | undefined
        : S extends { default: string }
          ? string
          : string | undefined;
