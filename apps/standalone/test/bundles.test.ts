import { readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import type { SourceMapPayload } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mainJs } from './harness';

const dist = dirname(mainJs);
const bundles = readdirSync(dist).filter((f) => f.endsWith('.js'));

describe('the built bundles', () => {
  it('hold no character above U+00FF, so V8 keeps their source as one-byte text', () => {
    expect(bundles).toContain('main.js');
    expect(bundles).toContain('sqlite-writer-thread.js');
    for (const file of bundles) {
      const text = readFileSync(join(dist, file), 'utf8');
      const wide = /[\u0100-\uffff]/.exec(text);
      expect(
        wide &&
          `${file}: U+${wide[0].charCodeAt(0).toString(16)} in "${text.slice(wide.index - 40, wide.index + 10)}"`,
      ).toBeNull();
    }
  });

  it('still map each function back to the line of its source that declares it', () => {
    const lines = readFileSync(mainJs, 'utf8').split('\n');
    const map = new SourceMap(JSON.parse(readFileSync(`${mainJs}.map`, 'utf8')) as SourceMapPayload);
    let checked = 0;
    lines.forEach((line, i) => {
      const name = /^(?:async )?function\*? ([A-Za-z_$][\w$]*?)\d*\(/.exec(line)?.[1];
      if (!name) return;
      const entry = map.findEntry(i, 0) as { originalSource?: string; originalLine?: number };
      if (!entry.originalSource || entry.originalSource.includes('node_modules')) return;
      const source = readFileSync(resolve(dist, entry.originalSource), 'utf8').split('\n');
      expect(source[entry.originalLine ?? -1], `${name} at main.js:${i + 1}`).toMatch(
        new RegExp(`function\\*? ${name.replace(/\$/g, '\\$')}\\d*[(<]`),
      );
      checked++;
    });
    expect(checked).toBeGreaterThan(500);
  });
});
