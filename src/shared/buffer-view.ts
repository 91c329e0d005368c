/**
 * Buffer views made without `Buffer#subarray`. Node's subarray reads `this.buffer` (a call
 * into C++) and goes through a megamorphic JS wrapper: about 90 ns a view, where building
 * the same Buffer from an ArrayBuffer we already hold costs about 30. The hot path makes
 * several views per request (a read, a key, a value, a reply), so this is worth a helper.
 */

type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;

/** Node's own Buffer class (what `subarray` constructs), which `Buffer[Symbol.species]` names. */
const NodeBuffer = (Buffer as unknown as { [Symbol.species]?: ViewConstructor })[Symbol.species];

const make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer =
  typeof NodeBuffer === 'function' && NodeBuffer.prototype === Buffer.prototype
    ? (buffer, byteOffset, length) => new NodeBuffer(buffer, byteOffset, length)
    : (buffer, byteOffset, length) => Buffer.from(buffer, byteOffset, length);

/** A Buffer over `length` bytes of `buffer` from `byteOffset`; shares memory, copies nothing. */
export function bufferView(buffer: ArrayBufferLike, byteOffset: number, length: number): Buffer {
  return make(buffer, byteOffset, length);
}

/** A Buffer over buf[start, end), sharing its memory (reads buf.buffer: hoist it for many views). */
export function viewOf(buf: Buffer, start: number, end: number): Buffer {
  return make(buf.buffer, buf.byteOffset + start, end - start);
}

/** A copy of buf[start, end): allocUnsafe + copy skips the intermediate view Buffer.from(subarray) makes. */
export function copyOf(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}
