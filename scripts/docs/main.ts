/** Regenerates the settings table in docs/configuration.md (npm run docs:configuration). */
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIGURATION_DOC, renderSettingsTable, withSettingsTable } from './configuration';

writeFileSync(CONFIGURATION_DOC, withSettingsTable(readFileSync(CONFIGURATION_DOC, 'utf8'), renderSettingsTable()));
console.log(`wrote ${CONFIGURATION_DOC}`);
