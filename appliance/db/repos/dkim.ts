/**
 * DKIM keys of hosted domains. `dkim_keys` has no tenant column: every query joins through the
 * scoped parent domain, and inserts check that the domain is of this scope.
 */
import { notFound } from '../../core/kernel/errors.js';
import type { DkimKey } from '../tables/control.table.js';
import type { DkimKeyStatus } from '../tables/status.js';
import { Repo } from './base.js';

export interface NewDkimKey {
  id: string;
  selector: string;
  algorithm: string;
  privateKeyPem: string;
  publicKey: string;
}

const LIVE: DkimKeyStatus[] = ['active', 'published'];

export class DkimRepo extends Repo {
  /** The ids of this scope's domains with this id (a subquery: the scoped parent). */
  private ownDomain(domainId: string) {
    return this.scoped(this.db.selectFrom('domains').select('domains.id').where('domains.id', '=', domainId), 'domains.tenant_id');
  }

  /** Live keys (signing or published) of a domain, oldest first. */
  async live(domainId: string): Promise<DkimKey[]> {
    return this.db.selectFrom('dkim_keys').selectAll().where('domain_id', 'in', this.ownDomain(domainId)).where('status', 'in', LIVE).orderBy('created_at').orderBy('selector').execute();
  }

  /** Adds keys to a domain of this scope (all `active`). */
  async insertActive(domainId: string, keys: NewDkimKey[], now: number): Promise<void> {
    if (!(await this.ownDomain(domainId).executeTakeFirst())) throw notFound('domain');
    if (!keys.length) return;
    await this.db
      .insertInto('dkim_keys')
      .values(
        keys.map((k) => ({
          id: k.id,
          domain_id: domainId,
          selector: k.selector,
          algorithm: k.algorithm,
          private_key: k.privateKeyPem,
          public_key: k.publicKey,
          status: 'active',
          created_at: now,
          retired_at: null,
        })),
      )
      .execute();
  }
}
