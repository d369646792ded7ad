import { AsyncLocalStorage } from 'node:async_hooks';

/** The request a piece of code is running for, so every log line can name it. */
export interface RequestContext {
  requestId: string;
}

export const requestContextStore = new AsyncLocalStorage<RequestContext>();
