/**
 * In-process CPU profiles of one measured loop (node:inspector's sampling profiler), written as
 * `.cpuprofile` files that Chrome DevTools opens and `bench/profile-summary.ts` summarises.
 */
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Run `fn` under the profiler (100 µs sampling) and write the profile to `file`. */
export async function profile(file: string, fn: () => Promise<void> | void): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    await fn();
    const { profile: result } = await session.post('Profiler.stop');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(result));
  } finally {
    session.disconnect();
  }
}
