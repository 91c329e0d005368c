/**
 * How to answer one ASCII request, carried beside its Command (which only says what to
 * do). A classic request needs its verb (`gets` shows CAS, `stats reset` says RESET) and
 * its noreply; a meta request needs the flags that shape its reply line.
 */

export type ClassicVerb =
  | 'get' | 'gets' | 'gat' | 'gats'
  | 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas'
  | 'delete' | 'incr' | 'decr' | 'touch'
  | 'flush_all' | 'stats' | 'version' | 'verbosity' | 'quit' | 'lru_crawler';

export interface ClassicFrame {
  readonly kind: 'classic';
  readonly verb: ClassicVerb;
  /** The request ended in `noreply`: send nothing back, not even an execution error. */
  readonly noreply: boolean;
}

export type MetaVerb = 'mg' | 'ms' | 'md' | 'ma' | 'mn' | 'me';

/**
 * Letters of the meta flags that add a token to the reply, in the order the request
 * listed them (memcached answers in request order). Each verb uses the ones it knows:
 * mg `Okcfsthl`, ms `Okcs`, md `Ok`, ma `Okct`.
 */
export type MetaReturnFlag = 'O' | 'k' | 'c' | 'f' | 's' | 't' | 'h' | 'l';

export interface MetaFrame {
  readonly kind: 'meta';
  readonly verb: MetaVerb;
  /** q: hide the nominal reply (EN on an mg miss, HD on ms/md/ma success); errors still show. */
  readonly quiet: boolean;
  /** b: the key came base64 encoded, so `k` echoes it that way, followed by a `b` flag. */
  readonly base64: boolean;
  /** v: mg sends the value, ma the new number, in a `VA` reply. */
  readonly value: boolean;
  /** The return flags in request order, one letter each (see MetaReturnFlag). */
  readonly returns: string;
  /** O: the opaque token without its `O`, as latin1 so every byte round-trips. */
  readonly opaque: string;
  /** mg C: withhold the value (answer HD) when the item's CAS equals this. */
  readonly compareCas?: number;
}

export type TextFrame = ClassicFrame | MetaFrame;

const CLASSIC_VERBS: readonly ClassicVerb[] = [
  'get', 'gets', 'gat', 'gats', 'set', 'add', 'replace', 'append', 'prepend', 'cas',
  'delete', 'incr', 'decr', 'touch', 'flush_all', 'stats', 'version', 'verbosity', 'quit', 'lru_crawler',
];

// Classic frames carry no per-request data, so every request shares one of these.
const CLASSIC_FRAMES = {} as Record<ClassicVerb, readonly [ClassicFrame, ClassicFrame]>;
for (const verb of CLASSIC_VERBS) {
  CLASSIC_FRAMES[verb] = [Object.freeze({ kind: 'classic', verb, noreply: false }), Object.freeze({ kind: 'classic', verb, noreply: true })];
}

export function classicFrame(verb: ClassicVerb, noreply: boolean): ClassicFrame {
  return CLASSIC_FRAMES[verb][noreply ? 1 : 0];
}

export const MN_FRAME: MetaFrame = Object.freeze({
  kind: 'meta', verb: 'mn', quiet: false, base64: false, value: false, returns: '', opaque: '',
});
