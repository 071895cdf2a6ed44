/**
 * Section 3 in its own process, started with the Node.js flags the proxy runs with in Lambda
 * (lib/runtime-flags.ts): heap sizing decides how the handler's time grows with the answer, so it
 * is measured under the deployed flags, not the bench's. Options arrive as JSON in argv[2]; the
 * result leaves as JSON on stdout.
 */
import { benchProxyCpu, ProxyCpuOptions } from './proxy-cpu';

const options = JSON.parse(process.argv[2] ?? '{}') as ProxyCpuOptions;
benchProxyCpu(options).then(
  (result) => process.stdout.write(JSON.stringify(result)),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
