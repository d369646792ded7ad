import request from 'supertest';
import type { TestApp } from './app';

/** A supertest agent per request: one app, a URL, or one alternating between API processes. */
export type Http = () => ReturnType<typeof request>;
/** Where a test helper sends its requests: an in-process app, or an `Http` for a URL. */
export type Target = TestApp | Http;

export const httpOf = (target: Target): Http => (typeof target === 'function' ? target : () => request(target.callback));

/** Requests to an API process at `url`. */
export const httpAt = (url: string): Http => () => request(url);
