import type { DeleteCommand, Reply, StoreCommand, TouchCommand } from '../../protocol/command.ts';
import type { ExecContext } from '../exec-context.ts';
import { WRITE_FORBIDDEN } from './refusals.ts';

export function store(cmd: StoreCommand, ctx: ExecContext): Reply {
  if (!ctx.credential.write) return WRITE_FORBIDDEN;
  const r = ctx.tenant.store.store(cmd, ctx.now);
  if (r.status === 'too_large') return { kind: 'error', code: 'VALUE_TOO_LARGE' };
  if (r.status === 'no_memory') return { kind: 'error', code: 'OUT_OF_MEMORY' };
  return { kind: 'stored', status: r.status, cas: r.cas };
}

export function remove(cmd: DeleteCommand, ctx: ExecContext): Reply {
  if (!ctx.credential.write) return WRITE_FORBIDDEN;
  return { kind: 'deleted', status: ctx.tenant.store.delete(cmd, ctx.now) };
}

export function touch(cmd: TouchCommand, ctx: ExecContext): Reply {
  if (!ctx.credential.write) return WRITE_FORBIDDEN;
  return { kind: 'touched', found: ctx.tenant.store.touch(cmd, ctx.now) };
}
