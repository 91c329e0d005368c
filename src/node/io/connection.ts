/**
 * What a Session needs from a client connection, whichever transport carries it: a Node
 * socket (TLS, or where the native loop is not available) or the native socket loop.
 *
 * Chunks given to `data` are only valid during the call: a Session copies what it keeps.
 */
export interface ConnectionHandlers {
  /** `receivedAtMs`: Date.now() when it was read (the native loop reads it once per batch). */
  data(chunk: Buffer, receivedAtMs: number): void;
  /** The bytes a write() queued have all been sent. */
  drain(): void;
  /**
   * The peer half-closed: it sends nothing more (no `data` follows) but may still read.
   * The connection stays open for writes until end() or destroy(); after end() it closes
   * once what is queued has been sent.
   */
  end(): void;
  /** The connection is gone (either side closed it); called once, after which nothing is. */
  close(): void;
}

export interface Connection {
  readonly remoteAddress: string;
  readonly destroyed: boolean;
  /**
   * Whether write() is done with the bytes when it returns (sent, or copied into a queue),
   * so the writer may reuse that memory at once. A Node socket holds on to them instead.
   */
  readonly writesAreCopied: boolean;
  bind(handlers: ConnectionHandlers): void;
  /** Sends or queues `data`; false when queued behind a full socket buffer (drain follows). */
  write(data: Uint8Array): boolean;
  /**
   * Half-close after what is queued; the connection closes when the peer closes (at once,
   * once sent, when the peer has already half-closed: `end` was called).
   */
  end(): void;
  /** Close now, dropping anything queued; `close` follows asynchronously. */
  destroy(): void;
  pause(): void;
  resume(): void;
}
