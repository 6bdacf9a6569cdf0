/**
 * Disposal shared by every role object of every backend: dispose() is idempotent, and using a
 * disposed object throws instead of touching freed WASM memory (bfv) or stale keys.
 */
import { InvalidInputError } from '../core/errors';

export class Lifecycle {
  private disposed = false;

  /** Throws InvalidInputError once the object was disposed. */
  protected live(): void {
    if (this.disposed) throw new InvalidInputError('this HE object was disposed');
  }

  /** Marks the object disposed; false when it already was (release resources only on true). */
  protected markDisposed(): boolean {
    if (this.disposed) return false;
    this.disposed = true;
    return true;
  }
}
