// memjs (Node, binary protocol + SASL PLAIN), run in-process by memjs.test.ts.
// Like the other client scripts it only observes: it returns op name -> result.
import memjs from 'memjs';

export type Observed = Record<string, unknown>;

export async function runMemjsOps(servers: string[], username?: string, password?: string): Promise<Observed> {
  const client = memjs.Client.create(servers.join(','), {
    // memjs falls back to $MEMCACHIER_USERNAME/PASSWORD; be explicit either way.
    username: username || undefined,
    password: password || undefined,
    timeout: 2,
    retries: 0,
    logger: { log: () => {} },
  });
  const out: Observed = {};
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      out[name] = await fn();
    } catch (e) {
      out[name] = { error: String((e as Error)?.message ?? e) };
    }
  };
  const str = (v: Buffer | null) => (v === null ? null : v.toString('utf8'));
  try {
    await step('set', () => client.set('greeting', 'hello', { expires: 0 }));
    await step('get', async () => str((await client.get('greeting')).value));
    await step('get_missing', async () => str((await client.get('no-such-key')).value));
    await step('set_counter', () => client.set('counter', '10', {}));
    await step('increment', async () => {
      const r = await client.increment('counter', 5, {});
      return { success: r.success, value: r.value ?? null };
    });
    await step('increment_initial', async () => {
      const r = await client.increment('fresh-counter', 3, { initial: 42 });
      return { success: r.success, value: r.value ?? null };
    });
    await step('get_counter', async () => str((await client.get('counter')).value));
    await step('delete', () => client.delete('greeting'));
    await step('delete_again', () => client.delete('greeting'));
    await step('get_deleted', async () => str((await client.get('greeting')).value));
    await step('set_before_flush', () => client.set('doomed', 'x', {}));
    await step('flush', () => client.flush());
    await step('get_after_flush', async () => str((await client.get('doomed')).value));
    await step('get_counter_after_flush', async () => str((await client.get('counter')).value));
  } finally {
    client.close();
  }
  return out;
}
