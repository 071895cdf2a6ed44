#!/usr/bin/env node
/**
 * `fhirgate`, the admin CLI (bin/cli/main.ts). The CLI is TypeScript, run through tsx's CommonJS
 * register API, so it shares the authorizer's code without a build step.
 *
 * From the repo root: `npx fhirgate …`, `npm run fhirgate -- …` or `node bin/fhirgate.cjs …`.
 */
'use strict';
// The AWS SDK warns on every run under Node 20 (supported by fhirgate, `engines`); that multi-line
// warning would break the CLI's one-line stderr. An operator who sets the variable keeps control.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs/api').register();
const { main } = require('./cli/main.ts');

main(process.argv.slice(2)).then(
  (code) => {
    // Exit now: SDK keep-alive sockets must not hold the process open. stdout/stderr to files and
    // pipes are written synchronously on Linux, so nothing printed is lost.
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`fhirgate: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
