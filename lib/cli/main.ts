#!/usr/bin/env node
import { DOCTOR_USAGE, runDoctor } from './doctor.command.js';

const USAGE = `Usage: nestjs-zero-trust <command>

  doctor           the app's security posture, graded, with a fix per finding (run it after nest add)

Least-privilege role migration: nestjs-zero-trust-role-migration --help

${DOCTOR_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'doctor') {
    console.error(USAGE);
    return command === undefined || command === '--help' ? 0 : 2;
  }
  try {
    const result = await runDoctor(rest);
    console.log(result.output);
    return result.exitCode;
  } catch (error) {
    console.error(`nestjs-zero-trust doctor: ${(error as Error).message}`);
    return 2;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
