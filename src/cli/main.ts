/** Entry point of the `cachier` command: picks the subcommand. */
import { runCache } from './cache.ts';
import { UsageError } from './args.ts';
import { runControl } from './control.ts';
import { runNode } from './node.ts';
import { runStart } from './start.ts';

const USAGE = `usage:
  cachier start [--data DIR | --database-url URL] [--host H] [--http-port P] [--port P] [--nodes N]
                [--anonymous-cache ID] [--history-interval S] [--history-raw-days D]
                [--history-hourly-days D] [--auth-timeout S] [--memory SIZE]
  cachier node [--database-url URL | --data DIR] [--host H] [--port P] [--advertise HOST:PORT]
               [--admin-port P] [--auth-timeout S] [--anonymous-cache ID]
  cachier node --deregister [--database-url URL | --data DIR] (--advertise HOST:PORT | --host H --port P)
  cachier control [--database-url URL | --data DIR] [--host H] [--http-port P] [--history-interval S]
                  [--history-raw-days D] [--history-hourly-days D]
  cachier cache create [--data DIR | --database-url URL] [--memory 64mb] [--name NAME] [--json]
  cachier cache list [--data DIR | --database-url URL] [--json]
  cachier cache show|disable|enable|delete ID [--data DIR | --database-url URL] [--json]
  cachier cache resize ID --memory SIZE [--data DIR | --database-url URL] [--json]
PostgreSQL URLs may carry ?schema=NAME to keep the tables in their own schema.`;

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'start') await runStart(rest);
  else if (command === 'cache') await runCache(rest);
  else if (command === 'node') await runNode(rest);
  else if (command === 'control') await runControl(rest);
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
