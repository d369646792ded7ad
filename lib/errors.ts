/**
 * Typed application errors. The HTTP layer maps them to the error envelope in one
 * middleware; nothing else decides status codes.
 */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNPROCESSABLE_ENTITY'
  | 'METHOD_NOT_ALLOWED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

export interface ErrorDetail {
  code: ErrorCode;
  message: string;
  field: string | null;
}

export class AppError extends Error {
  readonly details: ErrorDetail[];

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    field: string | null = null,
    details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'AppError';
    this.details = details ?? [{ code, message, field }];
  }
}

export class ValidationError extends AppError {
  constructor(details: Array<{ field: string | null; message: string }>) {
    const list = details.map((d) => ({ code: 'VALIDATION_ERROR' as const, ...d }));
    super(400, 'VALIDATION_ERROR', list[0]?.message ?? 'Invalid request', list[0]?.field ?? null, list);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends AppError {
  constructor(resource = 'Resource') {
    super(404, 'NOT_FOUND', `${resource} not found`);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends AppError {
  constructor(message: string, field: string | null = null) {
    super(409, 'CONFLICT', message, field);
    this.name = 'ConflictError';
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(parts: Array<{ field: string; message: string }>) {
    const list = parts.map((p) => ({ code: 'SERVICE_UNAVAILABLE' as const, ...p }));
    super(503, 'SERVICE_UNAVAILABLE', list[0]?.message ?? 'Service unavailable', list[0]?.field ?? null, list);
    this.name = 'ServiceUnavailableError';
  }
}
