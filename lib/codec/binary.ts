/**
 * Bounds-checked little-endian binary reader and writer for the versioned formats (owner secret,
 * user key, encrypted index, image envelope, ciphertexts). Every format starts with a 4-byte
 * magic and a u16 version; readers check every length against the bytes that remain, so a
 * truncated or oversized input is a {@link MalformedDataError}, never a crash or a wrong result.
 */
import { MalformedDataError } from '../core/errors';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class BinaryWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 1024) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(bytes: number): number {
    const needed = this.length + bytes;
    if (needed > this.buffer.length) {
      let capacity = this.buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const next = new Uint8Array(capacity);
      next.set(this.buffer.subarray(0, this.length));
      this.buffer = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length = needed;
    return at;
  }

  header(magic: string, version: number): this {
    if (magic.length !== 4) throw new Error('magic must be 4 ASCII characters');
    this.bytes(textEncoder.encode(magic));
    return this.u16(version);
  }

  // reserve() may replace the buffer and its view: take the offset first, then read this.view.
  u8(value: number): this {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
    return this;
  }

  u16(value: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, value, true);
    return this;
  }

  u32(value: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
    return this;
  }

  f64(value: number): this {
    const at = this.reserve(8);
    this.view.setFloat64(at, value, true);
    return this;
  }

  /** Writes raw bytes (no length prefix). */
  bytes(data: Uint8Array): this {
    const at = this.reserve(data.length);
    this.buffer.set(data, at);
    return this;
  }

  /** u32 length prefix, then the bytes. */
  blob(data: Uint8Array): this {
    return this.u32(data.length).bytes(data);
  }

  /** u16 byte-length prefix, then UTF-8. */
  string(value: string): this {
    const encoded = textEncoder.encode(value);
    if (encoded.length > 0xffff) throw new Error('string too long for the format');
    return this.u16(encoded.length).bytes(encoded);
  }

  /** Doubles without a length prefix (the format's dimensions say how many). */
  f64Array(values: ArrayLike<number>): this {
    const at = this.reserve(values.length * 8);
    for (let i = 0; i < values.length; i++) this.view.setFloat64(at + i * 8, values[i], true);
    return this;
  }

  /** Single-precision floats without a length prefix (rounded to the nearest float32). */
  f32Array(values: ArrayLike<number>): this {
    const at = this.reserve(values.length * 4);
    for (let i = 0; i < values.length; i++) this.view.setFloat32(at + i * 4, values[i], true);
    return this;
  }

  u32Array(values: ArrayLike<number>): this {
    const at = this.reserve(values.length * 4);
    for (let i = 0; i < values.length; i++) this.view.setUint32(at + i * 4, values[i], true);
    return this;
  }

  i32Array(values: ArrayLike<number>): this {
    const at = this.reserve(values.length * 4);
    for (let i = 0; i < values.length; i++) this.view.setInt32(at + i * 4, values[i], true);
    return this;
  }

  finish(): Uint8Array {
    // Filled to capacity: hand the buffer over (a later write reallocates, so it stays as is);
    // large batches are written this way and a copy of them costs as much as writing them.
    return this.length === this.buffer.length ? this.buffer : this.buffer.slice(0, this.length);
  }
}

export class BinaryReader {
  private readonly view: DataView;
  private offset = 0;

  /** @param what names the format in error messages, e.g. "owner secret". */
  constructor(
    private readonly data: Uint8Array,
    readonly what: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  fail(problem: string): never {
    throw new MalformedDataError(this.what, problem);
  }

  private take(bytes: number, field: string): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > this.remaining) {
      this.fail(`truncated while reading ${field} (need ${bytes} bytes, ${this.remaining} left)`);
    }
    const at = this.offset;
    this.offset += bytes;
    return at;
  }

  /** Checks the magic and returns the version after checking it is supported. */
  header(magic: string, supportedVersions: readonly number[]): number {
    const at = this.take(4, 'magic');
    const found = String.fromCharCode(...this.data.subarray(at, at + 4));
    if (found !== magic) this.fail(`not a ${this.what} (bad magic)`);
    const version = this.u16('version');
    if (!supportedVersions.includes(version)) {
      this.fail(`unsupported version ${version} (this build reads ${supportedVersions.join(', ')})`);
    }
    return version;
  }

  u8(field = 'u8'): number {
    return this.view.getUint8(this.take(1, field));
  }

  u16(field = 'u16'): number {
    return this.view.getUint16(this.take(2, field), true);
  }

  u32(field = 'u32'): number {
    return this.view.getUint32(this.take(4, field), true);
  }

  /** A u32 that must lie in [min, max]; names the field when it does not. */
  u32InRange(field: string, min: number, max: number): number {
    const v = this.u32(field);
    if (v < min || v > max) this.fail(`${field} = ${v} is outside [${min}, ${max}]`);
    return v;
  }

  f64(field = 'f64'): number {
    return this.view.getFloat64(this.take(8, field), true);
  }

  /** A double that must be finite. */
  finite(field: string): number {
    const v = this.f64(field);
    if (!Number.isFinite(v)) this.fail(`${field} is not a finite number`);
    return v;
  }

  bytes(length: number, field = 'bytes'): Uint8Array {
    const at = this.take(length, field);
    return this.data.slice(at, at + length);
  }

  blob(field = 'blob', maxLength = this.remaining): Uint8Array {
    const length = this.u32(`${field} length`);
    if (length > maxLength) this.fail(`${field} length ${length} exceeds ${maxLength}`);
    return this.bytes(length, field);
  }

  string(field = 'string'): string {
    const length = this.u16(`${field} length`);
    const raw = this.bytes(length, field);
    try {
      return textDecoder.decode(raw);
    } catch {
      this.fail(`${field} is not valid UTF-8`);
    }
  }

  /** `count` doubles; all must be finite (NaN or infinity in stored vectors is corruption). */
  f64Array(count: number, field = 'vector'): Float64Array {
    const at = this.take(count * 8, field);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const v = this.view.getFloat64(at + i * 8, true);
      if (!Number.isFinite(v)) this.fail(`${field}[${i}] is not a finite number`);
      out[i] = v;
    }
    return out;
  }

  /** `count` single-precision floats; all must be finite. */
  f32Array(count: number, field = 'vector'): Float32Array {
    const at = this.take(count * 4, field);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const v = this.view.getFloat32(at + i * 4, true);
      if (!Number.isFinite(v)) this.fail(`${field}[${i}] is not a finite number`);
      out[i] = v;
    }
    return out;
  }

  u32Array(count: number, field = 'u32 array'): Uint32Array {
    const at = this.take(count * 4, field);
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.view.getUint32(at + i * 4, true);
    return out;
  }

  i32Array(count: number, field = 'i32 array'): Int32Array {
    const at = this.take(count * 4, field);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.view.getInt32(at + i * 4, true);
    return out;
  }

  /** Every format ends exactly: trailing bytes mean a different or corrupted file. */
  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} unexpected trailing bytes`);
  }
}
