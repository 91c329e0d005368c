/** Replies for commands a credential's capabilities do not allow. */
import type { Reply } from '../../protocol/command.ts';

export const WRITE_FORBIDDEN: Reply = Object.freeze({ kind: 'error', code: 'WRITE_FORBIDDEN' });
export const FLUSH_FORBIDDEN: Reply = Object.freeze({ kind: 'error', code: 'FLUSH_FORBIDDEN' });
/** Listing a cache's keys (lru_crawler metadump) needs api_capability, as the API's key routes do. */
export const API_FORBIDDEN: Reply = Object.freeze({ kind: 'error', code: 'API_FORBIDDEN' });
/** Listing keys when the operator switched introspection off for the cache or the node. */
export const INTROSPECTION_DISABLED: Reply = Object.freeze({ kind: 'error', code: 'INTROSPECTION_DISABLED' });
/** `stats reset` (ASCII, binary STAT "reset") needs flush_capability and is refused as flush_all is. */
export const STATS_RESET_FORBIDDEN: Reply = FLUSH_FORBIDDEN;
