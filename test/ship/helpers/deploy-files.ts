/** Small readers for the deployment files (Dockerfile, systemd unit) so tests check what is really shipped. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEPLOY_DIR = join(import.meta.dirname, '..', '..', '..', 'gateway', 'deploy');

export interface DockerInstruction {
  op: string;
  args: string;
  /** Index of the stage (FROM) this instruction belongs to; -1 before the first FROM. */
  stage: number;
}

/** Dockerfile → instructions (continuations joined, comments dropped, parser directives ignored). */
export function parseDockerfile(text: string): DockerInstruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: DockerInstruction[] = [];
  let stage = -1;
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m?.[1]) throw new Error(`Dockerfile: cannot read "${line.slice(0, 40)}"`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: (m[2] ?? '').replace(/\s+/g, ' ').trim(), stage });
  }
  return out;
}

/** The exec-form array of a CMD/HEALTHCHECK CMD instruction. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error('not an exec-form array');
  return parsed as string[];
}

/** The HEALTHCHECK command of the shipped Dockerfile, minus the leading "node", for spawning with this Node. */
export function dockerHealthcheckArgs(): string[] {
  const hc = parseDockerfile(readFileSync(join(DEPLOY_DIR, 'Dockerfile'), 'utf8')).find((i) => i.op === 'HEALTHCHECK');
  if (!hc) throw new Error('no HEALTHCHECK');
  const cmd = execForm(hc.args.slice(hc.args.indexOf('CMD')));
  if (cmd[0] !== 'node') throw new Error('HEALTHCHECK does not run node');
  return cmd.slice(1);
}

/** systemd unit → section → key → values (a key may repeat). */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  for (const raw of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section?.[1]) {
      current = new Map();
      sections.set(section[1], current);
      continue;
    }
    const kv = /^([A-Za-z0-9]+)\s*=\s*(.*)$/.exec(line);
    if (!kv?.[1] || !current) throw new Error(`unit: cannot read "${line.slice(0, 40)}"`);
    current.set(kv[1], [...(current.get(kv[1]) ?? []), kv[2] ?? '']);
  }
  return sections;
}
