import type { ArithCommand, Reply } from '../../protocol/command.ts';
import type { ExecContext } from '../exec-context.ts';
import { WRITE_FORBIDDEN } from './refusals.ts';

export function arith(cmd: ArithCommand, ctx: ExecContext): Reply {
  if (!ctx.credential.write) return WRITE_FORBIDDEN;
  const r = ctx.tenant.store.arith(cmd, ctx.now);
  if (r.status === 'non_numeric') return { kind: 'error', code: 'NON_NUMERIC' };
  return { kind: 'arith', status: r.status, value: r.value, item: r.item };
}
