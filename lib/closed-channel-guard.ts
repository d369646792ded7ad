import { InterceptingCall, Metadata, status, type Interceptor } from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions, type ConnectionPlugin } from '@temporalio/client';

/**
 * The Temporal client retries a failed gRPC call (UNAVAILABLE, RESOURCE_EXHAUSTED, …) on a
 * timer, and closing the connection does not clear that timer. When it fires after the
 * close, grpc-js throws "Channel has been shut down" from inside the timer: outside any
 * awaited call, so it ends the process as an uncaught exception — in the middle of a
 * graceful shutdown, or as a failed test file when a test environment is torn down.
 *
 * Placed after the retry interceptor, this one stands between the retry and the channel:
 * a call made on a closed channel ends as CANCELLED ("the connection was closed"), which is
 * not retried, and reaches whoever still listens as a failed call. Anything else it passes on.
 */
export const closedChannelGuard: Interceptor = (options, nextCall) => {
  try {
    return new InterceptingCall(nextCall(options));
  } catch (err) {
    if (!isClosedChannel(err)) throw err;
    return new InterceptingCall(cancelledCall('the connection was closed'));
  }
};

function isClosedChannel(err: unknown): boolean {
  return err instanceof Error && err.message === 'Channel has been shut down';
}

/** What an interceptor wraps: grpc-js does not export the interface by name. */
type NextCallOf = ConstructorParameters<typeof InterceptingCall>[0];

/** A call that never reaches a server: started, it ends at once with CANCELLED. */
function cancelledCall(details: string): NextCallOf {
  return {
    start(_metadata, listener) {
      setImmediate(() => listener?.onReceiveStatus?.({ code: status.CANCELLED, details, metadata: new Metadata() }));
    },
    sendMessageWithContext(_context, _message) {},
    sendMessage(_message) {},
    startRead() {},
    halfClose() {},
    cancelWithStatus(_status, _details) {},
    getPeer: () => '',
    getAuthContext: () => null,
  };
}

/** The client's default interceptors (its retries) with the guard after them. */
export function guardedInterceptors(options: Pick<ConnectionOptions, 'interceptors'> = {}): Interceptor[] {
  return [...(options.interceptors ?? [makeGrpcRetryInterceptor(defaultGrpcRetryOptions())]), closedChannelGuard];
}

/** The guard as a connection plugin, for connections made elsewhere (the test environment's). */
export const closedChannelGuardPlugin: ConnectionPlugin = {
  name: 'realtyforyou-closed-channel-guard',
  configureConnection: (options) => ({ ...options, interceptors: guardedInterceptors(options) }),
};
