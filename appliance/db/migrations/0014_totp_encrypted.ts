import type { Kysely } from 'kysely';
import { hasSecretKey, isSealed, sealSecret } from '../../core/access/secret-box.js';

// Frozen in time: later changes go into new migrations.
// TOTP secrets encrypted at rest (issue 13): every clear secret of principals and mailbox
// owners (enrolled and pending) is sealed with the key kept outside the database
// (core/secret-box.ts; the appliance loads it before migrating).
export async function up(db: Kysely<any>): Promise<void> {
  const principals = await db.selectFrom('principals').select(['id', 'totp_secret', 'totp_pending_secret']).execute();
  const owners = await db.selectFrom('mailbox_totp').select(['mailbox_id', 'secret', 'pending_secret']).execute();
  const clear = (v: string | null) => v !== null && !isSealed(v);
  const todo = principals.filter((p) => clear(p.totp_secret) || clear(p.totp_pending_secret)).length + owners.filter((o) => clear(o.secret) || clear(o.pending_secret)).length;
  if (!todo) return;
  if (!hasSecretKey()) throw new Error('0014_totp_encrypted: the secrets key must be loaded before migrating');
  const seal = (v: string | null) => (v !== null && !isSealed(v) ? sealSecret(v) : v);
  for (const p of principals) {
    if (!clear(p.totp_secret) && !clear(p.totp_pending_secret)) continue;
    await db
      .updateTable('principals')
      .set({ totp_secret: seal(p.totp_secret), totp_pending_secret: seal(p.totp_pending_secret) })
      .where('id', '=', p.id)
      .execute();
  }
  for (const o of owners) {
    if (!clear(o.secret) && !clear(o.pending_secret)) continue;
    await db
      .updateTable('mailbox_totp')
      .set({ secret: seal(o.secret), pending_secret: seal(o.pending_secret) })
      .where('mailbox_id', '=', o.mailbox_id)
      .execute();
  }
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
