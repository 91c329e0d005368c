/**
 * What the binary encoder needs to know about a request beyond its Command: the
 * opcode and opaque to echo, whether success is answered at all, and whether the
 * response carries the key.
 */
export interface BinaryFrame {
  readonly opcode: number;
  /** Echoed untouched in every response to this request. */
  readonly opaque: number;
  /** A quiet variant: success is answered with nothing, failures still are. */
  readonly quiet: boolean;
  /** GETK/GATK (and quiet forms): responses carry the key. */
  readonly returnsKey: boolean;
  /** The request key when `returnsKey`, else undefined. A view into the input buffer. */
  readonly key: Buffer | undefined;
}
