// A small Dockerfile reader for the lint-like tests: instructions grouped by build stage.

export interface Instruction {
  /** Upper case, e.g. `RUN`. */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** The image or stage named by FROM. */
  from: string;
  alias: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages; comments and blank lines are dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim();
    if (first === '' || first.startsWith('#')) continue;
    const start = i + 1;
    let joined = first;
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      i += 1;
      const next = lines[i]!.trim();
      if (next.startsWith('#')) continue;
      joined = `${joined.slice(0, -1).trimEnd()} ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(joined)!;
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start };
    if (instruction.keyword === 'FROM') {
      const [from, as, alias] = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      stages.push({ from: from!, alias: as?.toUpperCase() === 'AS' ? alias : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${start}: ${instruction.keyword} before FROM`);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** The instructions of a stage with this keyword. */
export function find(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The exec form (`["node", "dist/main.js"]`) as an array, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed = JSON.parse(args) as unknown;
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
}

/** `KEY=value` pairs of ENV instructions (the `ENV KEY value` form too), later ones winning. */
export function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { args } of find(stage, 'ENV')) {
    if (!args.includes('=')) {
      const [key, ...value] = args.split(/\s+/);
      env.set(key!, value.join(' '));
      continue;
    }
    for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
      env.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
  }
  return env;
}

/** Options (`--from=build`) and the remaining words of a COPY or ADD. */
export function copyArgs(args: string): { options: Map<string, string>; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const options = new Map<string, string>();
  while (words[0]?.startsWith('--')) {
    const [key, value] = words.shift()!.slice(2).split('=');
    options.set(key!, value ?? '');
  }
  const dest = words.pop() ?? '';
  return { options, sources: words, dest };
}
