/**
 * Runs `fn` over `items` with at most `limit` calls in flight. `items` may be an async iterable (keys read page
 * by page): lanes pull the next item as they free up, so a large set is never held in memory at once. After a
 * rejection no further item starts; the first error is thrown once the calls in flight have settled (so none
 * outlives the batch).
 */
export async function forEachLimit<T>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const it: Iterator<T> | AsyncIterator<T> =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  let next = 0;
  let done = false;
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && !done) {
      try {
        // Async generators queue concurrent next() calls, so lanes never receive the same item.
        const step = await it.next();
        if (step.done) {
          done = true;
          return;
        }
        await fn(step.value, next++);
      } catch (error) {
        // `fn` failed, or reading the items did (a page query).
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.floor(limit)) }, lane));
  if (!done) await it.return?.();
  if (failure !== null) throw (failure as { error: unknown }).error;
}
