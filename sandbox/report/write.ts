import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ScenarioError } from '../run/errors.ts';
import { type ReportInput, renderReport } from './page.ts';

/**
 * Refuses, before a run, a report path that cannot be written (a missing or read-only directory, a
 * directory in its place), so a person learns it at once rather than after the run.
 */
export const checkReportPath = (file: string): void => {
  const directory = path.dirname(path.resolve(file));
  try {
    const found = statSync(directory, { throwIfNoEntry: false });
    if (!found) throw new Error(`the directory ${directory} does not exist`);
    if (!found.isDirectory()) throw new Error(`${directory} is not a directory`);
    accessSync(directory, constants.W_OK);
    if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${file} is a directory`);
  } catch (error) {
    throw new ScenarioError(`cannot write the report ${file}: ${(error as Error).message}`);
  }
};

/** Writes the report page of a run to `file`; a file that cannot be written is the person's to fix. */
export const writeReport = (file: string, input: ReportInput): void => {
  try {
    writeFileSync(file, renderReport(input), 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot write the report ${file}: ${(error as Error).message}`);
  }
};
