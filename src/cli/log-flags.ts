/**
 * `--log-level fatal|error|warn|info|debug|trace|silent` (default info) and
 * `--log-format json|pretty` (default: pretty when stderr is a terminal, else json) of
 * every command that runs servers (`start`, `control`, `node`): the process's one logger
 * (src/shared/logger.ts), on stderr.
 */
import { createLogger, isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, type Logger } from '../shared/logger.ts';
import { UsageError } from './args.ts';

export const LOG_FLAGS = {
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

export function loggerFromFlags(o: { 'log-level'?: string; 'log-format'?: string }): Logger {
  const level = o['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${level}"`);
  const format = o['log-format'] ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (!isLogFormat(format)) throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}, not "${format}"`);
  return createLogger({ level, format });
}
