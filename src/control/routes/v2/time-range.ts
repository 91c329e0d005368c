/**
 * A v2 request's `startTime`/`endTime` as milliseconds (src/control/insight/queries.ts's
 * parseRange, as of now); a range it refuses is the 400 BAD_TIME_RANGE naming what is wrong.
 */
import { V2Error } from '../../../api/v2-errors.ts';
import { parseRange, RangeError400 } from '../../insight/queries.ts';

export function requestRange(q: { startTime?: string; endTime?: string }): { from: number; to: number } {
  try {
    return parseRange(q, Date.now());
  } catch (e) {
    if (e instanceof RangeError400) throw new V2Error('BAD_TIME_RANGE', e.message);
    throw e;
  }
}
