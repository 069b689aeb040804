/**
 * Runs steps one after another, each starting as soon as the one before says it may (a scenario, once
 * its scripted load is over) or settles, whichever comes first: the tail of one step (late calls
 * settling) overlaps the start of the next instead of holding the run.
 */
export async function runOverlapped<T>(
  count: number,
  start: (index: number, ready: () => void) => Promise<T>,
): Promise<T[]> {
  const steps: Promise<T>[] = [];
  for (let i = 0; i < count; i++) {
    const ready = Promise.withResolvers<void>();
    const step = start(i, () => ready.resolve());
    steps.push(step);
    // A step that fails stops the run here; the ones still settling are awaited (and their errors
    // handled) by Promise.all below.
    await Promise.race([ready.promise, step]);
  }
  return Promise.all(steps);
}
