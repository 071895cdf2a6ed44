/**
 * The JSON Schema of the settings file (`-c settingsFile=…`, `FHIRGATE_SETTINGS_FILE`), generated
 * from the one schema the Lambdas validate with (functions/core/settings.ts). Run
 * `npm run gen:settings-schema` after changing the schema; a test fails when the committed file
 * is stale. The JSON Schema says the shape; the scope grammar is checked at run time only.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS_SCHEMA } from '../functions/core/settings';

export const SETTINGS_SCHEMA_FILE = join(__dirname, '..', 'docs', 'settings.schema.json');

/** The schema as the file holds it (stable key order, trailing newline). */
export function settingsJsonSchemaText(): string {
  // The scope check (SMART grammar) has no JSON Schema form: the schema says the shape only.
  const schema = { ...SETTINGS_SCHEMA.jsonSchema(), $schema: 'http://json-schema.org/draft-07/schema#' };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (require.main === module) writeFileSync(SETTINGS_SCHEMA_FILE, settingsJsonSchemaText());
