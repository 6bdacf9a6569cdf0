/**
 * The kinds of index a deployment accepts, by name. The index-version service looks the kind of
 * a request up here. A kind's validator (publish) and summarizer (GET index) are loaded on first
 * use from the loaders the process was given, so a function that never publishes does not load,
 * and does not bundle, any kind's validation code (index-kinds.ts).
 */
import { InvalidInputError } from '../../core/errors';
import type { IndexKind } from '../../storage/types';
import type { IndexKindHandler, IndexKindSpec, IndexKindSummarizer, IndexKindValidator } from '../types';
import { parseBlobName } from '../../core/ids';

/** Objects the service itself keeps under a version prefix; no kind may use these names. */
export const RESERVED_PART_NAMES: readonly string[] = ['manifest.json'];

/** Loads one role of one kind (a dynamic import). */
export type IndexKindLoader<T> = () => Promise<T>;
/** One role's loaders, by kind. */
export type IndexKindLoaders<T> = Readonly<Partial<Record<IndexKind, IndexKindLoader<T>>>>;

/** The roles this process plays; a role it was not given fails loudly when asked for. */
export interface IndexKindRoles {
  readonly validators?: IndexKindLoaders<IndexKindValidator>;
  readonly summarizers?: IndexKindLoaders<IndexKindSummarizer>;
}

function isWholeHandler(spec: IndexKindSpec): spec is IndexKindHandler {
  return typeof (spec as Partial<IndexKindHandler>).validate === 'function' && typeof (spec as Partial<IndexKindHandler>).summarize === 'function';
}

/** A role loaded once per process: concurrent first uses share the load; a failed load is retried next time. */
class LazyRole<T> {
  private loading: Promise<T> | undefined;

  constructor(private readonly load: IndexKindLoader<T>) {}

  get(): Promise<T> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }
}

interface Entry {
  readonly spec: IndexKindSpec;
  readonly validator?: LazyRole<IndexKindValidator>;
  readonly summarizer?: LazyRole<IndexKindSummarizer>;
}

export class IndexKindRegistry {
  private readonly entries = new Map<IndexKind, Entry>();

  /**
   * @param kinds specs (roles from `roles`) or whole handlers (their own roles).
   */
  constructor(
    kinds: readonly IndexKindSpec[] = [],
    private readonly roles: IndexKindRoles = {},
  ) {
    for (const kind of kinds) this.register(kind);
  }

  /** Adds a kind; throws if the kind is registered twice or its part names are unusable. */
  register(spec: IndexKindSpec): this {
    if (this.entries.has(spec.kind)) throw new Error(`index kind "${spec.kind}" is registered twice`);
    if (spec.parts.length === 0) throw new Error(`index kind "${spec.kind}" declares no parts`);
    const names = new Set<string>();
    for (const part of spec.parts) {
      parseBlobName(part.name);
      if (RESERVED_PART_NAMES.includes(part.name) || names.has(part.name)) {
        throw new Error(`index kind "${spec.kind}": part name "${part.name}" is reserved or used twice`);
      }
      if (!Number.isSafeInteger(part.maxBytes) || part.maxBytes < 1) {
        throw new Error(`index kind "${spec.kind}": part "${part.name}" needs a positive maxBytes`);
      }
      names.add(part.name);
    }
    const whole = isWholeHandler(spec) ? spec : undefined;
    const validator = whole !== undefined ? async () => whole : this.roles.validators?.[spec.kind];
    const summarizer = whole !== undefined ? async () => whole : this.roles.summarizers?.[spec.kind];
    this.entries.set(spec.kind, {
      spec,
      validator: validator === undefined ? undefined : new LazyRole(validator),
      summarizer: summarizer === undefined ? undefined : new LazyRole(summarizer),
    });
    return this;
  }

  get kinds(): IndexKind[] {
    return [...this.entries.keys()];
  }

  /** The spec of a kind; InvalidInputError naming the accepted kinds otherwise. */
  get(kind: string): IndexKindSpec {
    return this.entry(kind).spec;
  }

  /** The validator of a kind, loaded on first use. */
  validator(kind: string): Promise<IndexKindValidator> {
    const entry = this.entry(kind);
    if (entry.validator === undefined) return Promise.reject(new Error(`index kind "${entry.spec.kind}": no validator is loaded in this function`));
    return entry.validator.get();
  }

  /** The summarizer of a kind, loaded on first use. */
  summarizer(kind: string): Promise<IndexKindSummarizer> {
    const entry = this.entry(kind);
    if (entry.summarizer === undefined) return Promise.reject(new Error(`index kind "${entry.spec.kind}": no summarizer is loaded in this function`));
    return entry.summarizer.get();
  }

  private entry(kind: string): Entry {
    const entry = this.entries.get(kind as IndexKind);
    if (entry === undefined) {
      throw new InvalidInputError(
        `index kind "${String(kind).slice(0, 40)}" is not supported by this service; use one of: ${this.kinds.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    return entry;
  }
}
