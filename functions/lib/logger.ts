/**
 * Structured JSON logs (AWS Lambda Powertools). Log what happened, to whom and how long it
 * took: route, status, owner id, counts, milliseconds. Never bodies, tokens, keys, vectors or
 * trapdoors.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { processConfig } from '../../lib/config/environment';

const loggers = new Map<string, Logger>();

export function serviceLogger(serviceName: string): Logger {
  let logger = loggers.get(serviceName);
  if (logger === undefined) {
    logger = new Logger({ serviceName, logLevel: processConfig().get('logLevel') });
    loggers.set(serviceName, logger);
  }
  return logger;
}

/** `cs1/search` -> `blindsight-cs1-search`: the service name in the logs. */
export function serviceNameOf(handler: string): string {
  return `blindsight-${handler.replaceAll('/', '-')}`;
}
