import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../sandbox/run-scenario.ts';

/**
 * Static imports and re-exports (`import ... from`, `export ... from`, a side-effect `import '...'`) and
 * dynamic `import('...')` with a literal specifier, over line breaks. Comments are left out first.
 */
const IMPORT_SPECIFIERS = [
  /(?:^|[;}\n])\s*(?:import|export)\s[^;'"]*?\sfrom\s*['"]([^'"]+)['"]/g,
  /(?:^|[;}\n])\s*import\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/**
 * The repository's own modules a module imports, type-only imports and re-exports included (as madge and
 * dependency-cruiser count them by default; TypeScript 7 has no JavaScript API to list them).
 */
const importsOf = (file: string): string[] => {
  const source = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
  return IMPORT_SPECIFIERS.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''))
    .filter((name) => name.startsWith('.'))
    .map((name) => path.resolve(path.dirname(file), name));
};

/** Every import cycle through the modules reachable from `roots`, each as its list of files (repository paths). */
const cyclesFrom = (roots: string[]): string[][] => {
  const graph = new Map<string, string[]>();
  const pending = [...roots];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (graph.has(file)) continue;
    const next = importsOf(file);
    graph.set(file, next);
    pending.push(...next.filter((dependency) => !graph.has(dependency)));
  }
  // Tarjan's strongly connected components: a component of more than one module is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file) ?? 0);
    stack.push(file);
    for (const dependency of graph.get(file) ?? []) {
      if (!index.has(dependency)) {
        visit(dependency);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(dependency) ?? 0));
      } else if (stack.includes(dependency))
        low.set(file, Math.min(low.get(file) ?? 0, index.get(dependency) ?? 0));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      component.push(path.relative(REPOSITORY_ROOT, member));
      if (member === file) break;
    }
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
};

describe('Sandbox: the simulated AWS services', () => {
  it('import nothing that imports them back, type-only imports included', () => {
    const directory = path.join(REPOSITORY_ROOT, 'sandbox', 'aws');
    const services = readdirSync(directory)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => path.join(directory, name));
    expect(services.length).toBeGreaterThan(10);
    // The parser sees what a module imports: world.ts imports its services (a sanity check of the parser).
    expect(importsOf(path.join(directory, 'world.ts'))).toContain(path.join(directory, 'ecs.ts'));
    const throughServices = cyclesFrom(services).filter((cycle) =>
      cycle.some((file) => file.startsWith('sandbox/aws/')),
    );
    expect(throughServices).toEqual([]);
  });
});
