/**
 * The packages' manifests and sources as publishing needs them, checked in seconds (the
 * pack-and-install test in tests/pack/ checks the same packages installed, in .ci/run): MIT
 * metadata and LICENSE, only dist / README / LICENSE shipped, exports into dist, no build or test
 * tool among run-time dependencies, no dependency on an unpublished package, and no source file
 * importing from outside its own package.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIRS = [...readdirSync(join(ROOT, 'packages')).map((d) => join('packages', d)), 'examples'];

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  description?: string;
  repository?: { url: string; directory: string };
  files?: string[];
  exports: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const packages = DIRS.map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest }));
const published = new Set(packages.filter((p) => !p.pkg.private).map((p) => p.pkg.name));

/** Tools that build or test: never needed by a user's program. */
const NOT_AT_RUN_TIME = ['tsx', 'typescript', 'vite', 'vitest', 'turbo', '@types/node'];

describe.each(packages)('$pkg.name', ({ dir, pkg }) => {
  it('is published with MIT metadata, a LICENSE and a README', () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.license).toBe('MIT');
    expect(pkg.description?.length).toBeGreaterThan(10);
    expect(pkg.repository?.directory).toBe(dir);
    expect(readFileSync(join(ROOT, dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(existsSync(join(ROOT, dir, 'README.md'))).toBe(true);
  });

  it('ships dist, README.md and LICENSE only (plus the licenses of vendored files); exports and bin point into dist (or at package.json)', () => {
    expect([...(pkg.files ?? [])].filter((f) => !f.startsWith('LICENSE-')).sort()).toEqual(['LICENSE', 'README.md', 'dist']);
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.entries(t).filter(([cond]) => cond !== '@tessera/source').map(([, f]) => f)));
    for (const t of [...targets, ...Object.values(pkg.bin ?? {})]) expect(t, t).toMatch(/^\.\/(dist\/|package\.json$)/);
  });

  it('depends at run time only on published packages and no build or test tool', () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    for (const d of deps) if (d.startsWith('@tessera/')) expect(published.has(d), `${d} is not published`).toBe(true);
    expect(deps.filter((d) => NOT_AT_RUN_TIME.includes(d))).toEqual([]);
    for (const peer of Object.keys(pkg.peerDependencies ?? {})) expect(pkg.peerDependenciesMeta?.[peer]?.optional, `peer ${peer}`).toBe(true);
  });

  it('starts workers only as `new Worker(new URL(<literal>, import.meta.url))` naming a module of the package (what bundlers follow)', () => {
    const src = join(ROOT, dir, 'src');
    if (!existsSync(src)) return;
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ts|mjs)$/.test(f))) {
      const text = readFileSync(join(src, file), 'utf8');
      for (const m of text.matchAll(/new Worker\(\s*new URL\(\s*'([^']+)',\s*import\.meta\.url/g)) {
        // Built, ./worker.js is tsc's output of ./worker.ts next to it.
        const target = resolve(src, dirname(file), m[1].replace(/\.js$/, '.ts'));
        expect(existsSync(target), `${file}: ${m[1]}`).toBe(true);
        expect(m[1], `${file}: a bundler would look for the source-only bootstrap`).not.toMatch(/bootstrap/);
      }
    }
  });

  it('imports nothing by a relative path from outside the package', () => {
    const root = join(ROOT, dir);
    const escaping: string[] = [];
    const walk = (d: string): void => {
      for (const entry of readdirSync(d)) {
        const path = join(d, entry);
        if (entry === 'node_modules' || entry === 'dist') continue;
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|mts|mjs|js)$/.test(entry)) {
          for (const m of readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
            if (relative(root, resolve(dirname(path), m[1])).startsWith('..')) escaping.push(`${relative(ROOT, path)}: ${m[1]}`);
          }
        }
      }
    };
    for (const sub of ['src', 'page']) if (existsSync(join(root, sub))) walk(join(root, sub));
    expect(escaping).toEqual([]);
  });
});
