/**
 * Every error a cache node can answer with, declared once: its text reply, its binary
 * status and its meta reply. Code checks the code, never the message text.
 */
export const BinaryStatus = {
  ok: 0x00,
  keyNotFound: 0x01,
  keyExists: 0x02,
  valueTooLarge: 0x03,
  invalidArguments: 0x04,
  notStored: 0x05,
  nonNumeric: 0x06,
  authError: 0x20,
  authContinue: 0x21,
  unknownCommand: 0x81,
  outOfMemory: 0x82,
  /** ETMPFAIL: try again later (a cache's connection limit). */
  temporaryFailure: 0x86,
  /** Not supported: something this node does not do for this cache (introspection off). */
  notSupported: 0x83,
} as const;

interface ErrorSpec {
  /** Full ASCII reply line without CRLF (classic and meta share it). */
  readonly text: string;
  readonly binary: number;
}

export const ERRORS = {
  UNKNOWN_COMMAND: { text: 'ERROR', binary: BinaryStatus.unknownCommand },
  BAD_COMMAND_LINE: { text: 'CLIENT_ERROR bad command line format', binary: BinaryStatus.invalidArguments },
  BAD_DATA_CHUNK: { text: 'CLIENT_ERROR bad data chunk', binary: BinaryStatus.invalidArguments },
  KEY_TOO_LONG: { text: 'CLIENT_ERROR key too long', binary: BinaryStatus.invalidArguments },
  LINE_TOO_LONG: { text: 'CLIENT_ERROR line too long', binary: BinaryStatus.invalidArguments },
  VALUE_TOO_LARGE: { text: 'SERVER_ERROR object too large for cache', binary: BinaryStatus.valueTooLarge },
  OUT_OF_MEMORY: { text: 'SERVER_ERROR out of memory storing object', binary: BinaryStatus.outOfMemory },
  NON_NUMERIC: { text: 'CLIENT_ERROR cannot increment or decrement non-numeric value', binary: BinaryStatus.nonNumeric },
  INVALID_DELTA: { text: 'CLIENT_ERROR invalid numeric delta argument', binary: BinaryStatus.invalidArguments },
  INVALID_EXPTIME: { text: 'CLIENT_ERROR invalid exptime argument', binary: BinaryStatus.invalidArguments },
  /** lru_crawler metadump of a class list memcached would refuse. */
  BAD_CLASS: { text: 'BADCLASS invalid class id', binary: BinaryStatus.invalidArguments },
  BAD_FRAME: { text: 'CLIENT_ERROR bad request', binary: BinaryStatus.invalidArguments },
  AUTH_REQUIRED: { text: 'CLIENT_ERROR authentication required', binary: BinaryStatus.authError },
  AUTH_FAILED: { text: 'CLIENT_ERROR authentication failed', binary: BinaryStatus.authError },
  AUTH_MECHANISM: { text: 'CLIENT_ERROR unsupported authentication mechanism', binary: BinaryStatus.authError },
  /** A mutation by a credential without write_capability. */
  WRITE_FORBIDDEN: { text: 'CLIENT_ERROR permission denied: credential lacks write capability', binary: BinaryStatus.authError },
  /** flush_all by a credential without flush_capability. */
  FLUSH_FORBIDDEN: { text: 'CLIENT_ERROR permission denied: credential lacks flush capability', binary: BinaryStatus.authError },
  /** lru_crawler metadump (it lists keys) by a credential without api_capability. */
  API_FORBIDDEN: { text: 'CLIENT_ERROR permission denied: credential lacks api capability', binary: BinaryStatus.authError },
  /** lru_crawler metadump with introspection off for the cache or the node (the operator's choice). */
  INTROSPECTION_DISABLED: { text: 'SERVER_ERROR introspection is disabled for this cache', binary: BinaryStatus.notSupported },
  /** A login past the node's logged-in slots; in anonymous mode sent as text on accept, before the protocol is known. */
  TOO_MANY_CONNECTIONS: { text: 'SERVER_ERROR too many connections', binary: BinaryStatus.outOfMemory },
  /** A login past the cache's connection limit on this node; the connection is closed. */
  CACHE_CONNECTIONS: { text: 'SERVER_ERROR too many connections for this cache', binary: BinaryStatus.temporaryFailure },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
