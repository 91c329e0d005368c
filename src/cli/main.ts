/** Entry point of the `cachier` command: picks the subcommand. */
import { runCache } from './cache.ts';
import { UsageError } from './args.ts';
import { runStart } from './start.ts';

const USAGE = `usage:
  cachier start [--data DIR] [--host H] [--http-port P] [--port P] [--nodes N] [--anonymous-cache ID]
                [--history-interval S] [--auth-timeout S] [--memory SIZE]
  cachier cache create [--data DIR] [--memory 64mb] [--name NAME] [--json]
  cachier cache list [--data DIR] [--json]`;

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'start') await runStart(rest);
  else if (command === 'cache') await runCache(rest);
  else if (command === undefined || command === 'help' || command === '--help') console.log(USAGE);
  else throw new UsageError(`unknown command "${command}"`);
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`cachier: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(`cachier: ${(e as Error).message}`);
  process.exit(1);
}
