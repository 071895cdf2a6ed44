/**
 * Node.js flags the FHIR proxy runs with in Lambda (`NODE_OPTIONS`), in a file without CDK
 * imports so the bench measures the handler with the very flags the stack deploys.
 *
 * `--max-semi-space-size=64` (MB): a 10 000-entry searchset is a ~10 MB body whose parsed tree
 * outgrows V8's default young generation; every object of it is then copied into the old
 * generation and collected there, and the handler's time grows faster than its input (the bench's
 * floor, JSON.parse + stringify alone, grew 13–15× from 1 000 to 10 000 entries). With a 64 MB
 * semi-space (a young generation of up to ~192 MB, inside the proxy's 1 024 MB) it stays linear
 * (bench: `npm run bench`, section 3). Node documents the flag:
 * https://nodejs.org/api/cli.html#--max-semi-space-sizesize-in-mib
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
