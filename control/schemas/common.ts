/**
 * Schemas shared by every resource: the error body, ids, paging. Request bodies are closed
 * objects (`additionalProperties: false`): an unknown field is a 400, never silently dropped.
 */
import { type Static, type TProperties, type TSchema, type TUnsafe, Type } from 'typebox';

/** A closed object: unknown properties are rejected. */
export function Closed<T extends TProperties>(properties: T, options: { description?: string; title?: string } = {}) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/**
 * `T | null` in a response, as one JSON Schema type list (`type: [T's type, "null"]`, OpenAPI 3.1)
 * rather than an anyOf: the response serializer checks a type list inline, while each anyOf
 * branch costs an Ajv validation per value and an Ajv compile of the branch at the route's first
 * answer, on the serving loop (issue 18: ~90 ms for the ownership answer, its p99 tail).
 */
export function OrNull<T extends TSchema & { type: string }>(t: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...t, type: [t.type, 'null'] });
}

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'NotFound, AlreadyExists, Forbidden, Unauthorized, Invalid, Conflict, Gone, TooLarge, RateLimited, TempFailure, Internal' }),
      message: Type.String(),
      details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  },
  { title: 'Error' },
);

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 500 | 503;

/** Response schemas for the given error statuses. */
export function errors<S extends ErrorStatus>(...statuses: S[]): Record<S, typeof ErrorBody> {
  const out = {} as Record<S, typeof ErrorBody>;
  for (const s of statuses) out[s] = ErrorBody;
  return out;
}

/** The error statuses any authenticated route can answer. */
export const AUTHED_ERRORS = [400, 401, 403, 404, 415, 500] as const;

export function authedErrors<S extends ErrorStatus>(...extra: S[]) {
  return errors<(typeof AUTHED_ERRORS)[number] | S>(...AUTHED_ERRORS, ...extra);
}

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const Address = Type.String({ minLength: 3, maxLength: 254, description: 'An email address local@domain' });
export const Timestamp = Type.String({ description: 'ISO 8601 date-time (UTC)' });

export const PageQuery = Closed({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'Page size, 1 to 500 (default 100)' })),
  after: Type.Optional(Type.String({ maxLength: 64, description: 'Return items whose id sorts after this one' })),
});

export function pageFrom(q: { limit?: string; after?: string }): { limit?: number; after?: string | null } {
  return { limit: q.limit === undefined ? undefined : Number(q.limit), after: q.after ?? null };
}

const pageProps = {
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'Page size, 1 to 500 (default 100)' })),
  after: Type.Optional(Type.String({ maxLength: 64, description: 'Return items whose id sorts after this one (the last id of the previous page)' })),
};

/** A paging query with extra filters. */
export function ListQuery<T extends TProperties>(filters: T) {
  return Closed({ ...pageProps, ...filters });
}

export const BoolString = Type.Union([Type.Literal('true'), Type.Literal('false')]);
export const SearchText = Type.String({ minLength: 1, maxLength: 100, description: 'Case-insensitive substring' });
export const Reason = Type.String({ maxLength: 500, description: 'Why; recorded in the audit event' });

export function boolOf(v: 'true' | 'false' | undefined): boolean | undefined {
  return v === undefined ? undefined : v === 'true';
}

/** Body of operations that only take an optional reason (the body may be omitted). */
export const OptionalReasonBody = Type.Union([Closed({ reason: Type.Optional(Reason) }), Type.Null()], { description: 'Optional: {reason} recorded in the audit event' });

/** Query of a two-step DELETE: without `confirm` it answers 202 with an intent; with the intent id it deletes. */
export const DeleteQuery = Closed({
  confirm: Type.Optional(Type.String({ maxLength: 64, description: 'The intent id returned by the first DELETE' })),
  reason: Type.Optional(Reason),
});

export const DeletionIntent = Type.Object(
  {
    intent: Type.Object({ id: Type.String(), expiresAt: Timestamp }),
    target: Type.Object({ type: Type.String(), id: Type.String(), name: Type.String() }),
    impact: Type.Object({}, { additionalProperties: true }),
    confirm: Type.String({ description: 'The call that confirms the deletion' }),
  },
  { title: 'DeletionIntent' },
);
export const Deleted = Type.Object({ target: Type.Object({ type: Type.String(), id: Type.String(), name: Type.String() }), deletedAt: Timestamp, purgeAfter: Timestamp }, { title: 'Deleted' });
