import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';

// Frozen in time: later changes go into new migrations.
// Every hosted (primary, live) domain gets the addresses every mail domain must have:
// postmaster@ (RFC 5321 §4.5.1), abuse@ (RFC 2142) and the report address its DMARC and
// TLS-RPT records publish (dmarc-reports@ unless the domain's settings name another), as
// aliases to the tenant's contact (its oldest administrator) or else the oldest operator's
// address. Addresses already taken by a mailbox or alias are left alone; domains with nobody
// to deliver to are left for the next domain template apply (which creates them too).
const PLATFORM_REPORT_LOCAL_PART = 'dmarc-reports';

export async function up(db: Kysely<any>): Promise<void> {
  const domains = await db.selectFrom('domains').select(['id', 'tenant_id', 'name']).where('status', '=', 'active').where('alias_of', 'is', null).execute();
  const now = Date.now();
  for (const d of domains) {
    const admin = await db.selectFrom('principals').select('email').where('tenant_id', '=', d.tenant_id).where('status', '!=', 'disabled').orderBy('created_at').limit(1).executeTakeFirst();
    const operator = admin
      ? undefined
      : await db.selectFrom('principals').select('email').where('tenant_id', 'is', null).where('status', '!=', 'disabled').orderBy('created_at').limit(1).executeTakeFirst();
    const target = (admin ?? operator)?.email as string | undefined;
    if (!target) continue;
    const settings = await db.selectFrom('domain_settings').select('settings').where('domain_id', '=', d.id).executeTakeFirst();
    let report = PLATFORM_REPORT_LOCAL_PART;
    try {
      const parsed = settings ? (JSON.parse(settings.settings as string) as { dmarc?: { reportLocalPart?: string } }) : {};
      if (typeof parsed.dmarc?.reportLocalPart === 'string' && parsed.dmarc.reportLocalPart) report = parsed.dmarc.reportLocalPart;
    } catch {
      /* platform default */
    }
    for (const local of [...new Set(['postmaster', 'abuse', report])]) {
      const address = `${local}@${d.name}`;
      const taken =
        (await db.selectFrom('mailboxes').select('id').where('address', '=', address).executeTakeFirst()) ??
        (await db.selectFrom('aliases').select('id').where('address', '=', address).executeTakeFirst());
      if (taken) continue;
      await db
        .insertInto('aliases')
        .values({
          id: `als_${randomBytes(12).toString('hex')}`,
          tenant_id: d.tenant_id,
          domain_id: d.id,
          local_part: local,
          address,
          targets: JSON.stringify([target]),
          status: 'active',
          created_by: 'system:migration',
          deleted_with: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
  }
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
