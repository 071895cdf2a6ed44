/** fhirgate's Logger over Powertools for AWS Lambda's Logger (see log.ts). */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from './log';
/**
 * A Logger over Powertools: `level` picks the method (`info` unless `warn`/`error`/`debug`) and
 * becomes Powertools' own `level` (upper case: it reserves the key); `event` is the message, and
 * every other key of the record — `event` included — stays a top-level key of the line.
 */
export function powertoolsLogger(serviceName: string, logger: PowertoolsLogger = new PowertoolsLogger({ serviceName })): Logger {
  return (record) => {
    const level = record.level === 'error' || record.level === 'warn' || record.level === 'debug' ? record.level : 'info';
    const { level: _level, ...keys } = record;
    logger[level](typeof record.event === 'string' ? record.event : 'fhirgate', keys);
  };
}
