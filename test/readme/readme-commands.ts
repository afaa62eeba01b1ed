import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const readme = readFileSync(`${root}README.md`, 'utf8');

/** The text of a README section, from its heading to the next heading of level 2 or 3. */
export function sectionOf(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README has no section "${heading}"`);
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(/\n#{2,3} /);
  return end === -1 ? rest : rest.slice(0, end);
}

/** The ```bash blocks of a section, verbatim. */
export function bashBlocksOf(heading: string): string[] {
  return [...sectionOf(heading).matchAll(/```bash\n([\s\S]*?)```/g)].map((block) => block[1]);
}

/** Every ```bash block of the whole README, with the heading of its section. */
export function everyBashBlock(): Array<{ heading: string; block: string }> {
  const blocks: Array<{ heading: string; block: string }> = [];
  let heading = '# nestjs-zero-trust';
  let inBlock: string[] | undefined;
  let inOther = false;
  for (const line of readme.split('\n')) {
    if (inBlock) {
      if (line.startsWith('```')) {
        blocks.push({ heading, block: `${inBlock.join('\n')}\n` });
        inBlock = undefined;
      } else inBlock.push(line);
      continue;
    }
    if (line.startsWith('```')) {
      if (line === '```bash') inBlock = [];
      else inOther = !inOther;
      continue;
    }
    if (!inOther && /^#{1,4} /.test(line)) heading = line;
  }
  return blocks;
}

/** The command lines of a bash block: comments cut off, comment-only and empty lines dropped. */
export function commandLinesOf(block: string): string[] {
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));
}
