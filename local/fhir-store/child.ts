/**
 * The local FHIR store as its own process (started by process.ts): in production the FHIR server
 * is another service on other hardware, so locally it gets its own event loop instead of sharing
 * the gateway's. Reports its base URL over IPC; stops on SIGTERM or when the parent goes away.
 */
import { join, resolve } from 'node:path';
import { createFhirStoreServer, demoResources } from './index';

const port = Number(process.env.FHIRGATE_FHIR_STORE_PORT ?? '0');

// Export files go to the stack's state directory (FHIRGATE_DIR, as the stack itself reads it).
const exportDir = join(resolve(process.env.FHIRGATE_DIR ?? '.local'), 'exports');

createFhirStoreServer({ port, seed: demoResources(), exports: { dir: exportDir } }).then(
  (server) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void server.close().then(() => process.exit(0));
    };
    process.on('SIGTERM', stop);
    process.on('disconnect', stop); // the parent is gone: nobody else will stop us
    process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole group; the parent stops us in order
    process.send?.({ type: 'ready', baseUrl: server.baseUrl, port: server.port });
  },
  (err: unknown) => {
    process.send?.({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);
