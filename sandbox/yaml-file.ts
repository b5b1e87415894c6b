import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { cloneData } from './aws/clone.ts';

/** Parsed documents by path, with the text they were parsed from. */
const parsed = new Map<string, { text: string; document: unknown }>();

/**
 * A YAML file of the repository (serverless.yml, an ASL file), parsed. Every run reads the same few files
 * several times, and parsing YAML costs more than a warm run's simulation: the text is read every time and
 * parsed again only when it changed. Each caller gets its own copy, free to change it (copied as plain data:
 * structuredClone costs a MessageChannel per call on Node 20).
 */
export const readYamlFile = (file: string): unknown => {
  const text = readFileSync(file, 'utf8');
  let entry = parsed.get(file);
  if (entry?.text !== text) {
    entry = { text, document: parseYaml(text) as unknown };
    parsed.set(file, entry);
  }
  return cloneData(entry.document);
};
