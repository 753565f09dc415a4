/**
 * The one mapping of errors to HTTP: AppError codes to statuses, schema validation and body
 * parsing failures to 400, anything unexpected to a 500 whose details stay in the log.
 * Body: `{error: {code, message, details?}}`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../../appliance/core/kernel/errors.js';
import { actorFields } from './request-log.js';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  Invalid: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  QuotaExceeded: 409,
  Gone: 410,
  TooLarge: 413,
  RateLimited: 429,
  TempFailure: 503,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'Invalid',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'Invalid',
  406: 'Invalid',
  409: 'Conflict',
  410: 'Gone',
  413: 'TooLarge',
  415: 'Invalid',
  429: 'RateLimited',
};

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describeValidation(context: string | undefined, issues: ValidationIssue[]): { message: string; details: Record<string, unknown> } {
  const part = context ?? 'request';
  const described = issues.map((i) => {
    const where = `${part}${(i.instancePath ?? '').replace(/\//g, '.')}`;
    if (i.keyword === 'additionalProperties' && typeof i.params?.additionalProperty === 'string') {
      return { field: `${where}.${i.params.additionalProperty}`, message: `unknown field "${i.params.additionalProperty}" in ${where}` };
    }
    if (i.keyword === 'required' && typeof i.params?.missingProperty === 'string') {
      return { field: `${where}.${i.params.missingProperty}`, message: `${where}.${i.params.missingProperty} is required` };
    }
    return { field: where, message: `${where} ${i.message ?? 'is invalid'}` };
  });
  return { message: described.map((d) => d.message).join('; '), details: { issues: described } };
}

function send(reply: FastifyReply, status: number, code: string, message: string, details?: Record<string, unknown>) {
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(status).send({ error: details ? { code, message, details } : { code, message } });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AppError) {
      const status = HTTP_STATUS[err.code] ?? 500;
      if (status >= 500) {
        req.log.warn({ event: 'control.request.error', err, code: err.code, ...actorFields(req) }, 'request failed');
        return send(reply, status, err.code, 'temporarily unavailable, try again later');
      }
      return send(reply, status, err.code, err.message, err.details);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const { message, details } = describeValidation(fe.validationContext, fe.validation as ValidationIssue[]);
      return send(reply, 400, 'Invalid', message, details);
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      return send(reply, status, CODE_BY_STATUS[status] ?? 'Invalid', fe.message);
    }
    req.log.error({ event: 'control.request.error', err, ...actorFields(req) }, 'unexpected error');
    return send(reply, 500, 'Internal', 'internal error');
  });

  app.setNotFoundHandler((req, reply) => send(reply, 404, 'NotFound', `no route ${req.method} ${req.url.split('?')[0]}`));
}
