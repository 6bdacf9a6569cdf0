/**
 * docs/configuration.md lists the settings table (lib/config/settings.ts). This renders that
 * list; `npm run docs:configuration` (main.ts) writes it into the page, and a unit test fails
 * when the page and the table differ.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../../lib/config/settings';
import type { SettingGroup, SettingSpec } from '../../lib/config/types';

export const CONFIGURATION_DOC = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'docs', 'configuration.md');
const START = '<!-- settings table: generated from lib/config/settings.ts by `npm run docs:configuration` -->';
const END = '<!-- end of settings table -->';

const GROUP_TITLES: Record<SettingGroup, string> = {
  storage: 'Storage (CS1 and CS2 functions)',
  logging: 'Logging (every function)',
  cs1: 'CS1: what a warm function keeps in memory',
  'cs1-to-cs2': 'CS1 to CS2 (read on the first identification)',
  cs2: 'CS2',
  features: 'Feature extraction and data (clients, benchmarks, evaluation)',
  tools: 'The client, the blindsight CLI and the local cloud',
};

function code(text: string | number): string {
  return `\`${text}\``;
}

function accepts(spec: SettingSpec): string {
  switch (spec.kind) {
    case 'text':
      return spec.secret ? 'text (secret)' : 'text';
    case 'integer':
      return `integer, ${spec.min} to ${spec.max} ${spec.unit}`;
    case 'number':
      return `number, ${spec.min} to ${spec.max} ${spec.unit}`;
    case 'flag':
      return '`true` or `false`';
    case 'choice':
      return Object.entries(spec.choices)
        .map(([value, meaning]) => `${code(value)} (${meaning})`)
        .join(', ');
    case 'list':
      return `comma-separated, each ${spec.item.description}`;
  }
}

function defaultOf(spec: SettingSpec): string {
  const value = 'default' in spec ? spec.default : undefined;
  const shown = value === undefined ? '' : Array.isArray(value) ? code(value.join(',')) : code(String(value));
  const required = spec.requiredWhen === undefined ? '' : `required: ${spec.requiredWhen}`;
  return [shown, required].filter((part) => part !== '').join('; ') || 'unset';
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The generated part of docs/configuration.md, markers included. */
export function renderSettingsTable(): string {
  const specs = Object.values(SETTINGS) as SettingSpec[];
  const lines = [START];
  for (const group of Object.keys(GROUP_TITLES) as SettingGroup[]) {
    const inGroup = specs.filter((spec) => spec.group === group);
    if (inGroup.length === 0) continue;
    lines.push('', `### ${GROUP_TITLES[group]}`, '', '| Variable | Default | Accepts | Purpose |', '| --- | --- | --- | --- |');
    for (const spec of inGroup) {
      const names = [spec.name, ...(spec.aliases ?? [])].map(code).join(' or ');
      lines.push(`| ${names} | ${escapeCell(defaultOf(spec))} | ${escapeCell(accepts(spec))} | ${escapeCell(spec.purpose)} |`);
    }
  }
  lines.push('', END);
  return lines.join('\n');
}

/** The page with its generated part replaced by `table`. */
export function withSettingsTable(page: string, table: string): string {
  const start = page.indexOf(START);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${CONFIGURATION_DOC} has lost its settings-table markers`);
  return page.slice(0, start) + table + page.slice(end + END.length);
}
