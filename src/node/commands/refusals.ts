/** Replies for commands a credential's capabilities do not allow. */
import type { Reply } from '../../protocol/command.ts';

export const WRITE_FORBIDDEN: Reply = Object.freeze({ kind: 'error', code: 'WRITE_FORBIDDEN' });
export const FLUSH_FORBIDDEN: Reply = Object.freeze({ kind: 'error', code: 'FLUSH_FORBIDDEN' });
/** `stats reset` (ASCII, binary STAT "reset") needs flush_capability and is refused as flush_all is. */
export const STATS_RESET_FORBIDDEN: Reply = FLUSH_FORBIDDEN;
