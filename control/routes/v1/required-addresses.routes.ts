/**
 * Where a tenant's required addresses (postmaster@, abuse@, the DMARC/TLS-RPT report address of
 * each of its domains) deliver: read the choice and the effective destination, or choose.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import { requiredAddressDestination, setRequiredAddressDestination } from '../../../appliance/core/mailboxes/role-addresses.js';
import { actorOf } from '../../plugins/authn.js';
import { Address, authedErrors, Closed, Reason } from '../../schemas/common.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const Destination = Type.Object(
  {
    chosen: Type.Union([Type.String(), Type.Null()], { description: 'The tenant’s choice (null: the default)' }),
    effective: Type.String({ description: 'Where the required addresses of new domains deliver now' }),
    source: Type.String({ description: 'tenant-choice | tenant-contact (its oldest administrator) | operator | appliance-postmaster' }),
  },
  { title: 'RequiredAddressDestination' },
);
const DestinationSet = Type.Object({ ...Destination.properties, repointed: Type.Array(Type.String(), { description: 'Required aliases that followed the change' }) });
const Body = Closed({
  target: Type.Union([Address, Type.Null()], { description: 'A mailbox or alias of the tenant, or an outside address; null: back to the default' }),
  reason: Type.Optional(Reason),
});

const requiredAddressesRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.get(
    '/tenants/:tenantId/required-addresses',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['domains'], summary: 'Where the tenant’s postmaster@, abuse@ and report addresses deliver', params: TenantParams, response: { 200: Destination, ...authedErrors() } },
    },
    async (req) => requiredAddressDestination(actorOf(req), core, req.params.tenantId),
  );

  app.put(
    '/tenants/:tenantId/required-addresses',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['domains'],
        summary: 'Choose where the tenant’s postmaster@, abuse@ and report addresses deliver; the required aliases still at the old destination follow (audited)',
        params: TenantParams,
        body: Body,
        response: { 200: DestinationSet, ...authedErrors() },
      },
    },
    async (req) => setRequiredAddressDestination(actorOf(req), core, req.params.tenantId, req.body),
  );
};

export default requiredAddressesRoutes;
