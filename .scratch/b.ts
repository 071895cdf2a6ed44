import { buildFunctionBundle, FUNCTION_ENTRIES } from '../lib/function-bundle';
(async () => { for (const [n, e] of Object.entries(FUNCTION_ENTRIES)) console.log(n, (await buildFunctionBundle(e, `/tmp/b21/${n}`)).bytes); })();
