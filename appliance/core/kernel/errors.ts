/**
 * The one error type of the domain core. Each edge maps `code` once: HTTP status in the
 * control plane, an RFC 5530 response code in IMAP, a reply code in SMTP.
 */
export type ErrorCode = 'NotFound' | 'AlreadyExists' | 'Forbidden' | 'Unauthorized' | 'Invalid' | 'QuotaExceeded' | 'Conflict' | 'TooLarge' | 'RateLimited' | 'TempFailure' | 'Gone';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError('NotFound', `${what} not found`);
export const invalid = (message: string, details?: Record<string, unknown>) => new AppError('Invalid', message, details);
export const conflict = (message: string, details?: Record<string, unknown>) => new AppError('Conflict', message, details);

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
