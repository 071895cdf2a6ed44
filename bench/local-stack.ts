/**
 * The local stack as `npm start` runs it, in a child process on free loopback ports
 * (local/stack/spawn.ts), with the sign-in the bench needs. Its request logs are kept only for
 * error messages.
 */
import { signIn } from '../local/stack/clients';
import { spawnLocalStack } from '../local/stack/spawn';
import type { StackInfo } from '../bin/cli/stack-info';

export interface BenchStack {
  readonly info: StackInfo;
  readonly pid: number;
  /** A user's access token from the local Cognito (InitiateAuth, USER_PASSWORD_AUTH). */
  signIn(username: string): Promise<string>;
  /** The last few KB the stack wrote to stderr (its request log), for error messages. */
  logTail(): string;
  stop(): Promise<void>;
}

/** `profileDir`: run the stack's Node process with --cpu-prof, profiles written there on exit. */
export async function startBenchStack(options: { readyTimeoutMs?: number; profileDir?: string } = {}): Promise<BenchStack> {
  const nodeArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : undefined;
  const stack = await spawnLocalStack({}, options.readyTimeoutMs ?? 60_000, nodeArgs);
  return {
    info: stack.info,
    pid: stack.child.pid!,
    signIn: (username) => signIn(stack.info, username),
    logTail: () => stack.stderr().slice(-4000),
    async stop() {
      await stack.stop();
    },
  };
}
