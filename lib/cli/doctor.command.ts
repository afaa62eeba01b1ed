import type { INestApplication, LoggerService, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type PostureFinding, renderPosture } from '../doctor/posture-finding.js';
import { startReportOnlyBoot } from '../database/boot-refusal.js';
import { PostureReport } from '../doctor/posture.report.js';

export const DOCTOR_USAGE = `Usage: nestjs-zero-trust doctor [--module <compiled root module>] [--export <class>] [--json]

Boots the app's compiled root module (without listening), lets every boot check of nestjs-zero-trust
run (routes, keys, headers, database role and row-level security…), and prints the posture report:
a grade, then one line per finding with its fix. Exit code 1 when a finding fails.

  --module <file>   the compiled root module (default: dist/app.module.js, or the one nest-cli.json's
                    sourceRoot compiles to)
  --export <name>   its exported class (default: AppModule, or the only export ending in "Module")
  --json            the findings as JSON`;

/** Every boot check's warning, by the module's logger context; the rest of the app's log is kept out of the report. */
class BootWarnings implements LoggerService {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  log(): void {}
  debug(): void {}
  verbose(): void {}
  fatal(message: unknown): void {
    this.errors.push(String(message));
  }
  error(message: unknown): void {
    this.errors.push(String(message));
  }
  warn(message: unknown, context?: string): void {
    if (context === 'ZeroTrustModule') this.warnings.push(String(message));
  }
}

function defaultModuleFile(cwd: string): string {
  const candidates = ['dist/app.module.js', 'dist/src/app.module.js'];
  try {
    const cli = JSON.parse(readFileSync(join(cwd, 'nest-cli.json'), 'utf8')) as { sourceRoot?: string };
    if (cli.sourceRoot && cli.sourceRoot !== 'src') candidates.unshift(join('dist', cli.sourceRoot.replace(/^src\/?/, ''), 'app.module.js'));
  } catch {
    // No nest-cli.json (or not JSON): the usual layout is tried.
  }
  const found = candidates.find((candidate) => existsSync(join(cwd, candidate)));
  if (!found) throw new Error(`no compiled root module at ${candidates.join(' or ')}: build the app first (npm run build), or pass --module.`);
  return join(cwd, found);
}

function rootModuleOf(exports: Record<string, unknown>, name: string | undefined, file: string): Type<unknown> {
  if (name) {
    if (typeof exports[name] !== 'function') throw new Error(`${file} exports no ${name}.`);
    return exports[name] as Type<unknown>;
  }
  if (typeof exports.AppModule === 'function') return exports.AppModule as Type<unknown>;
  const modules = Object.entries(exports).filter(([key, value]) => key.endsWith('Module') && typeof value === 'function');
  if (modules.length !== 1) throw new Error(`${file}: name the root module with --export (exports: ${Object.keys(exports).join(', ') || 'none'}).`);
  return modules[0][1] as Type<unknown>;
}

export interface DoctorResult {
  findings: PostureFinding[];
  output: string;
  exitCode: number;
}

/**
 * `nestjs-zero-trust doctor`: the posture report of a built app. A boot refused by a check (strict
 * mode, production refusals) is itself the report's first failure, with the check's message and fix.
 */
export async function runDoctor(argv: string[], cwd = process.cwd()): Promise<DoctorResult> {
  const { values } = parseArgs({
    args: argv,
    options: { module: { type: 'string' }, export: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help) return { findings: [], output: DOCTOR_USAGE, exitCode: 0 };
  const file = values.module ? resolve(cwd, values.module) : defaultModuleFile(cwd);
  const root = rootModuleOf((await import(pathToFileURL(file).href)) as Record<string, unknown>, values.export, file);
  const logger = new BootWarnings();
  let app: INestApplication | undefined;
  let findings: PostureFinding[];
  // Report-only: the checks that refuse a boot (strict mode, production-only rules) record their refusal
  // and let the boot go on, so one refusal does not hide every other finding. The app never listens here.
  const boot = startReportOnlyBoot();
  try {
    app = await NestFactory.create(root, { logger, abortOnError: false });
    await app.init();
    findings = app.get(PostureReport, { strict: false }).findings(logger.warnings, boot.refusals);
  } catch (error) {
    // What a check cannot report past (a malformed option, a class-level rule): the boot stops there.
    const [first, ...rest] = ((error as Error).message ?? String(error)).split('\n');
    findings = [{ area: 'boot', level: 'fail', message: `the app does not start: ${first}`, fix: rest.map((line) => line.trim()).filter(Boolean).join(' ') || undefined }];
  } finally {
    boot.end();
    await app?.close();
  }
  const output = values.json ? JSON.stringify(findings, null, 2) : renderPosture(findings);
  return { findings, output, exitCode: findings.some((finding) => finding.level === 'fail') ? 1 : 0 };
}
