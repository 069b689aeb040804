import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { coreList, onCore, sustainedCores } from './pinning.ts';

describe('pinning the sustained runs to cores', () => {
  it('reads a Linux CPU list: single cores and ranges, in order; nothing for anything else', () => {
    expect(coreList('0-1')).toEqual([0, 1]);
    expect(coreList(' 0,2-4,7\n')).toEqual([0, 2, 3, 4, 7]);
    expect(coreList('3')).toEqual([3]);
    expect(coreList('')).toEqual([]);
    expect(coreList('0-1,x')).toEqual([]);
  });

  it('runs node through taskset on a core, or node itself without one', () => {
    expect(onCore(['worker.ts', 'server'], 1)).toEqual([
      'taskset',
      ['-c', '1', process.execPath, 'worker.ts', 'server'],
    ]);
    expect(onCore(['worker.ts'], undefined)).toEqual([process.execPath, ['worker.ts']]);
  });

  it('picks the first and the last core this process may run on, on Linux (util-linux has taskset) with two or more', () => {
    const cores = sustainedCores();
    if (process.platform !== 'linux' || availableParallelism() < 2) {
      expect(cores).toBeUndefined();
      return;
    }
    expect(cores).toBeDefined();
    expect(cores?.client).toBeLessThan(cores?.server as number);
  });
});
