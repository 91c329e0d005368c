/**
 * The process parsers.test.ts runs the parser and encoder properties in, one job per
 * message, so that a parser that never returns is a failed test (the parent's watchdog
 * kills this process) instead of a test run that never ends.
 */
import fc from 'fast-check';
import { encoderProperty } from './encoder-fuzz.ts';
import type { Protocol } from './grammar.ts';
import { emptyCounts, PROPERTIES, type PropertyName } from './parser-fuzz.ts';

export interface FuzzJob {
  readonly property: PropertyName | 'encoder';
  readonly protocol: Protocol;
  readonly numRuns: number;
  readonly seed: number;
}

export interface FuzzJobResult {
  readonly failure?: string;
  readonly frames: number;
  readonly parses: number;
}

process.on('message', (job: FuzzJob) => {
  const counts = emptyCounts();
  const property: fc.IRawProperty<unknown[], false> = job.property === 'encoder'
    ? encoderProperty(job.protocol, { replies: 0 }) as fc.IRawProperty<unknown[], false>
    : PROPERTIES[job.property](job.protocol, counts);
  const details = fc.check(property, { numRuns: job.numRuns, seed: job.seed });
  const result: FuzzJobResult = {
    failure: details.failed ? `${(details.errorInstance as Error | undefined)?.message ?? details.errorInstance}\n${fc.defaultReportMessage(details)}` : undefined,
    frames: counts[job.protocol].frames,
    parses: counts[job.protocol].parses,
  };
  process.send!(result);
});
