/**
 * The kinds of index a deployment accepts, by name. The index-version service looks the kind of
 * a request up here, so adding a kind is adding its handler to the list in index-kinds.ts.
 */
import { InvalidInputError } from '../../core/errors';
import { assertBlobName } from '../../storage/identifiers';
import type { IndexKind } from '../../storage/types';
import type { IndexKindHandler } from './types';

/** Objects the service itself keeps under a version prefix; no kind may use these names. */
export const RESERVED_PART_NAMES: readonly string[] = ['manifest.json'];

export class IndexKindRegistry {
  private readonly handlers = new Map<IndexKind, IndexKindHandler>();

  constructor(handlers: readonly IndexKindHandler[] = []) {
    for (const handler of handlers) this.register(handler);
  }

  /** Adds a kind; throws if the kind is registered twice or its part names are unusable. */
  register(handler: IndexKindHandler): this {
    if (this.handlers.has(handler.kind)) throw new Error(`index kind "${handler.kind}" is registered twice`);
    if (handler.parts.length === 0) throw new Error(`index kind "${handler.kind}" declares no parts`);
    const names = new Set<string>();
    for (const part of handler.parts) {
      assertBlobName(part.name);
      if (RESERVED_PART_NAMES.includes(part.name) || names.has(part.name)) {
        throw new Error(`index kind "${handler.kind}": part name "${part.name}" is reserved or used twice`);
      }
      if (!Number.isSafeInteger(part.maxBytes) || part.maxBytes < 1) {
        throw new Error(`index kind "${handler.kind}": part "${part.name}" needs a positive maxBytes`);
      }
      names.add(part.name);
    }
    this.handlers.set(handler.kind, handler);
    return this;
  }

  get kinds(): IndexKind[] {
    return [...this.handlers.keys()];
  }

  /** The handler of a kind; InvalidInputError naming the accepted kinds otherwise. */
  get(kind: string): IndexKindHandler {
    const handler = this.handlers.get(kind as IndexKind);
    if (handler === undefined) {
      throw new InvalidInputError(
        `index kind "${String(kind).slice(0, 40)}" is not supported by this service; use one of: ${this.kinds.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    return handler;
  }
}
