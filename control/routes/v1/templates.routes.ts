/**
 * Versioned domain templates: create, version, apply (one domain or every domain of a tenant),
 * the drift report, and manual settings changes (which show up as drift).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CoreDeps } from '../../../appliance/core/deps.js';
import {
  addTemplateVersion,
  applyTemplate,
  applyTemplateToTenant,
  createTemplate,
  domainTemplateStatus,
  getTemplate,
  listTemplates,
  tenantDriftReport,
  updateDomainSettings,
} from '../../../appliance/core/templates/templates.service.js';
import { actorOf } from '../../plugins/authn.js';
import { authedErrors } from '../../schemas/common.js';
import { DomainParams } from '../../schemas/domains.schemas.js';
import {
  ApplyTemplateBody,
  CreateTemplateBody,
  DomainSettingsBody,
  DomainTemplateStatus,
  DriftQuery,
  Template,
  TemplateApplied,
  TemplateParams,
  TemplateVersionBody,
} from '../../schemas/templates.schemas.js';
import { TenantParams } from '../../schemas/tenants.schemas.js';

const templatesRoutes: FastifyPluginAsyncTypebox<{ core: CoreDeps }> = async (app, { core }) => {
  app.post(
    '/tenants/:tenantId/templates',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['templates'],
        summary: 'Create a domain template of the tenant (version 1; settings merged over the platform default)',
        params: TenantParams,
        body: CreateTemplateBody,
        response: { 201: Template, ...authedErrors() },
      },
    },
    async (req, reply) => reply.code(201).send(await createTemplate(actorOf(req), core, req.params.tenantId, req.body)),
  );

  app.post(
    '/templates',
    {
      config: { permission: 'domains.manage' },
      schema: { tags: ['templates'], summary: 'Create a platform template, visible to every tenant (operators only)', body: CreateTemplateBody, response: { 201: Template, ...authedErrors() } },
    },
    async (req, reply) => reply.code(201).send(await createTemplate(actorOf(req), core, null, req.body)),
  );

  app.get(
    '/tenants/:tenantId/templates',
    {
      config: { permission: 'domains.read' },
      schema: {
        tags: ['templates'],
        summary: "The tenant's templates, the platform templates and the built-in default (tpl_platform_default)",
        params: TenantParams,
        response: { 200: Type.Array(Template), ...authedErrors() },
      },
    },
    async (req) => listTemplates(actorOf(req), core, req.params.tenantId),
  );

  app.get(
    '/templates/:templateId',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['templates'], summary: 'A template with all its versions', params: TemplateParams, response: { 200: Template, ...authedErrors() } },
    },
    async (req) => getTemplate(actorOf(req), core, req.params.templateId),
  );

  app.post(
    '/templates/:templateId/versions',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['templates'],
        summary: 'A new version of a template (versions are never edited)',
        params: TemplateParams,
        body: TemplateVersionBody,
        response: { 201: Template, ...authedErrors(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await addTemplateVersion(actorOf(req), core, req.params.templateId, req.body)),
  );

  app.post(
    '/domains/:domainId/template',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['templates'],
        summary: 'Apply a template version to a domain: creates missing default aliases and DKIM keys, switches catch-all off if the policy says so, records the version; re-applying fixes drift',
        params: DomainParams,
        body: ApplyTemplateBody,
        response: { 200: TemplateApplied, ...authedErrors() },
      },
    },
    async (req) => applyTemplate(actorOf(req), core, req.params.domainId, req.body),
  );

  app.post(
    '/tenants/:tenantId/template',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['templates'],
        summary: 'Apply a template version to every domain of the tenant',
        params: TenantParams,
        body: ApplyTemplateBody,
        response: { 200: Type.Array(TemplateApplied), ...authedErrors() },
      },
    },
    async (req) => applyTemplateToTenant(actorOf(req), core, req.params.tenantId, req.body),
  );

  app.get(
    '/domains/:domainId/template',
    {
      config: { permission: 'domains.read' },
      schema: { tags: ['templates'], summary: "A domain's template, settings and drift, field by field", params: DomainParams, response: { 200: DomainTemplateStatus, ...authedErrors() } },
    },
    async (req) => domainTemplateStatus(actorOf(req), core, req.params.domainId),
  );

  app.get(
    '/tenants/:tenantId/template-drift',
    {
      config: { permission: 'domains.read' },
      schema: {
        tags: ['templates'],
        summary: 'Drift report of every domain of the tenant (onlyDrifted=true: those that differ)',
        params: TenantParams,
        querystring: DriftQuery,
        response: { 200: Type.Array(DomainTemplateStatus), ...authedErrors() },
      },
    },
    async (req) => tenantDriftReport(actorOf(req), core, req.params.tenantId, { onlyDrifted: req.query.onlyDrifted === 'true' }),
  );

  app.patch(
    '/domains/:domainId/settings',
    {
      config: { permission: 'domains.manage' },
      schema: {
        tags: ['templates'],
        summary: "Change a domain's settings by hand (reported as drift from its template until re-applied)",
        params: DomainParams,
        body: DomainSettingsBody,
        response: { 200: DomainTemplateStatus, ...authedErrors() },
      },
    },
    async (req) => updateDomainSettings(actorOf(req), core, req.params.domainId, req.body),
  );
};

export default templatesRoutes;
