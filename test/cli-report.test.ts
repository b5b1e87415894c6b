import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess, tempDir } from './cli-support.ts';

describe('CLI: simulate --report', () => {
  it('writes the page and says where, after the summary', async () => {
    const file = path.join(tempDir(), 'healthy.html');
    const { code, stdout } = await runInProcess([
      'simulate',
      '--scenario',
      'examples/healthy-canary.yml',
      '--report',
      file,
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      new RegExp(`Expectations: +all met\\nReport: +${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`),
    );
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<h1>Release report: Healthy canary is promoted</h1>');
    expect(html).toContain('data-outcome="promoted"');
  });

  it('refuses a report it cannot write before running the scenario (exit 2)', async () => {
    const missing = path.join(tempDir(), 'no-such-dir', 'report.html');
    const { code, stdout, stderr } = await runInProcess([
      'simulate',
      '--scenario',
      'examples/healthy-canary.yml',
      '--report',
      missing,
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `shipline: cannot write the report ${missing}: the directory ${path.dirname(missing)} does not exist\n`,
    );
    expect(existsSync(missing)).toBe(false);
  });
});
