/**
 * The packages as a user gets them: built, packed (pnpm pack), installed from the tarballs into a
 * fresh project in a temporary folder (offline, from the local pnpm store), then used there with
 * plain node, npx and a vite build opened in Chromium. Nothing from the repository's sources.
 * Runs in `.ci/run` after `pnpm test` (build + pack + install take minutes on 2 cores):
 *   pnpm vitest run -c tests/pack/vitest.pack.config.ts
 * TESSERA_PACK_NO_BUILD=1 skips `pnpm build` (dist/ is up to date).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs scripts without type declarations
import { packAndInstall, publishedPackages } from '../../scripts/pack-install.mjs';
// @ts-expect-error: a plain .mjs script without type declarations
import { CHROMIUM_ARGS, chromiumHint, findChromium } from '../../scripts/ensure-chromium.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const project = mkdtempSync(join(tmpdir(), 'tessera-user-'));
const exec = promisify(execFile);

/** Runs a command in the installed project; resolves with its output whatever its exit status. */
async function inProject(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(cmd, args, { cwd: project, encoding: 'utf8', env: { ...process.env, INIT_CWD: undefined, npm_package_name: undefined, npm_lifecycle_event: undefined } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: x.stdout ?? '', err: x.stderr ?? String(e) };
  }
}

/** The part of the installed vite's API used here (vite is no dependency of the repository's root). */
interface VitePreview {
  preview(config: object): Promise<{ resolvedUrls: { local: string[] } | null; httpServer: { close(done: () => void): void } }>;
}

/** The README's "The API in short" example: its one code block (```js, or ```ts holding plain JavaScript). */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('The API in short'));
  const block = section?.match(/```(?:js|ts|javascript)\n([\s\S]*?)```/);
  if (!block) throw new Error('README.md has no "## The API in short" section with a ```js block');
  return block[1];
}

/** The range the workspace uses for a tool, so that the store has it. */
const rangeOf = (manifest: string, section: string, name: string): string => JSON.parse(readFileSync(join(ROOT, manifest), 'utf8'))[section][name];

beforeAll(() => {
  const extra = {
    vite: rangeOf('packages/browser/package.json', 'devDependencies', 'vite'),
    typescript: rangeOf('package.json', 'devDependencies', 'typescript'),
    '@types/node': rangeOf('package.json', 'devDependencies', '@types/node'),
  };
  packAndInstall(project, { build: !process.env.TESSERA_PACK_NO_BUILD, extra });
}, 900_000);

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('the packed packages, installed in a fresh project', () => {
  it('every tarball holds dist, README.md and LICENSE only, and its exports name files it holds', async () => {
    for (const { pkg } of publishedPackages() as { pkg: { name: string; exports: Record<string, string | Record<string, string>>; bin?: Record<string, string> } }[]) {
      const dir = join(project, 'node_modules', pkg.name);
      const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(installed.license, pkg.name).toBe('MIT');
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8'), pkg.name).toMatch(/^MIT License/);
      for (const [entry, target] of Object.entries(installed.exports as Record<string, string | Record<string, string>>)) {
        const files = typeof target === 'string' ? [target] : [target.types, target.default];
        for (const f of files) expect(() => readFileSync(join(dir, f)), `${pkg.name} ${entry}: ${f}`).not.toThrow();
      }
      const deps = Object.keys(installed.dependencies ?? {});
      expect(deps, `${pkg.name} must not need tsx or vitest at run time`).not.toEqual(expect.arrayContaining(['tsx']));
      expect(deps).not.toContain('vitest');
      expect(deps).not.toContain('vite');
    }
  });

  it("runs the README's API example with plain node", async () => {
    writeFileSync(join(project, 'api.mjs'), readmeExample());
    const r = await inProject('node', ['api.mjs']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it("typechecks a TypeScript program using every package's types (NodeNext resolution)", async () => {
    const imports = (publishedPackages() as { pkg: { name: string; exports: Record<string, unknown> } }[])
      .flatMap(({ pkg }) => Object.keys(pkg.exports).filter((e) => e !== './package.json').map((e) => `${pkg.name}${e.slice(1)}`))
      // The vitest entry needs vitest, an optional peer this project does not install.
      .filter((spec) => spec !== '@tessera/conformance/vitest');
    const program = [
      ...imports.map((spec, i) => `import * as m${i} from '${spec}';`),
      `export const loaded = [${imports.map((_, i) => `m${i}`).join(', ')}].length;`,
      readmeExample(),
    ].join('\n');
    writeFileSync(join(project, 'types.ts'), program);
    const tsconfig = { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['types.ts'] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const r = await inProject('npx', ['tsc', '-p', 'tsconfig.json']);
    // tsc reports on stdout (stderr may hold npm's own warnings about the environment).
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it('npx tessera --version, summary (an example and a relative path), run on workers and on webgl with --check', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8'));
    expect((await inProject('npx', ['tessera', '--version'])).out.trim()).toBe(version);

    const summary = await inProject('npx', ['tessera', 'summary', 'seed-cnn']);
    expect(summary.code).toBe(0);
    expect(summary.out).toContain('total params: 126,090');

    // A path relative to the user's directory (the project), not to the package.
    expect((await inProject('npx', ['tessera', 'export', 'seed-cnn', '-o', 'seed.json'])).code).toBe(0);
    const fromFile = await inProject('npx', ['tessera', 'summary', './seed.json', '--json']);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.out).totalParams).toBe(126_090);

    // Node worker threads start dist/worker.js (no tsx).
    const workers = await inProject('npx', ['tessera', 'run', 'seed-cnn', '--backend', 'workers', '--check', '--json']);
    expect(workers.code, workers.err).toBe(0);
    expect(JSON.parse(workers.out).check).toEqual([expect.objectContaining({ output: 'logits', ok: true })]);

    const webgl = await inProject('npx', ['tessera', 'run', 'seed-cnn', '--backend', 'webgl', '--check']);
    expect(webgl.err).not.toMatch(/error/i);
    expect(webgl.code).toBe(0);
    expect(webgl.out).toContain('logits: agrees with the float64 reference');
  }, 300_000);

  it('a vite build of a page using cpu, workers and webgl runs the seed CNN in Chromium, each agreeing with the reference', async () => {
    cpSync(fileURLToPath(new URL('./page', import.meta.url)), join(project, 'page'), { recursive: true });
    const build = await inProject('npx', ['vite', 'build', 'page']);
    expect(build.err).not.toMatch(/error/i);
    expect(build.code).toBe(0);
    // The installed vite serves the build (preview: cross-origin isolated by the page's config).
    const vite = (await import(pathToFileURL(join(project, 'node_modules/vite/dist/node/index.js')).href)) as VitePreview;
    const server = await vite.preview({ root: join(project, 'page'), configFile: join(project, 'page/vite.config.js'), preview: { host: '127.0.0.1', port: 0 } });
    const executablePath = findChromium();
    if (!executablePath) throw new Error(chromiumHint());
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
    try {
      const page = await browser.newPage();
      await page.goto(server.resolvedUrls!.local[0]);
      await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 120_000 });
      const result = (await page.evaluate(() => (window as unknown as { tesseraResult: unknown }).tesseraResult)) as {
        error?: string;
        results: Record<string, { ok: boolean; worstRatio: number; head: number[] }>;
      };
      expect(result.error).toBeUndefined();
      expect(Object.keys(result.results)).toEqual(['cpu', 'workers', 'webgl']);
      for (const [backend, r] of Object.entries(result.results)) expect(r.ok, `${backend}: worst error ${r.worstRatio} of its bound`).toBe(true);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    }
  }, 300_000);
});
