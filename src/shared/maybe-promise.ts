// A value that is there now or later, and how to go on with it without an await when it is there now.

export type MaybePromise<T> = T | Promise<T>;

export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Continues with the value at once when it is there, after it when it is a promise: no await on the common path. */
export function then<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isThenable(value) ? value.then(next) : next(value);
}
