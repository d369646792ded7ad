/**
 * `target` with `method` failing its first call as a network error would (`message`), then
 * doing what the original does; `failures()` counts the calls that failed. With `only`, the
 * first call it accepts fails (the calls before it go through).
 */
export function failingFirst<T extends object, K extends keyof T>(target: T, method: K, message: string, only?: (...args: unknown[]) => boolean): { stub: T; failures(): number } {
  let failures = 0;
  const stub: T = Object.create(target);
  const original = target[method] as unknown as (...args: unknown[]) => unknown;
  stub[method] = (async (...args: unknown[]) => {
    if (failures === 0 && (!only || only(...args))) {
      failures += 1;
      throw new Error(message);
    }
    return original.apply(target, args);
  }) as T[K];
  return { stub, failures: () => failures };
}
