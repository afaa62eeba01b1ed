import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const endToEnd = readFileSync(`${root}test/package/packed-install.spec.ts`, 'utf8');

/** The shell commands of a README section's ```bash blocks: every line that is not a comment, comments cut off. */
function commandsOf(heading: string): string[] {
  const start = readme.indexOf(`${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start + heading.length);
  const end = rest.search(/\n#{2,3} /);
  const section = end === -1 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)]
    .flatMap((block) => block[1].split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));
}

/**
 * The getting-started path must not drift from what runs: each command of these README sections is
 * run, character for character, by the end-to-end test with the real Nest CLI.
 */
describe('README getting-started commands are the ones the end-to-end test runs', () => {
  const sections = ['## Generate with the Nest CLI', '## Install and use', '### Doctor: the posture of your app'];
  it.each(sections.flatMap((heading) => commandsOf(heading).map((command) => [heading, command] as const)))('%s: `%s`', (_heading, command) => {
    expect(endToEnd).toContain(`'${command}'`);
  });

  it('finds the commands it checks (a renamed heading would check nothing)', () => {
    expect(sections.map((heading) => commandsOf(heading).length).every((count) => count > 0)).toBe(true);
  });
});
