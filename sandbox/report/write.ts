import { writeFileSync } from 'node:fs';
import { ScenarioError } from '../run/errors.ts';
import { type ReportInput, renderReport } from './page.ts';

/** Writes the report page of a run to `file`; a file that cannot be written is the person's to fix. */
export const writeReport = (file: string, input: ReportInput): void => {
  try {
    writeFileSync(file, renderReport(input), 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot write the report ${file}: ${(error as Error).message}`);
  }
};
