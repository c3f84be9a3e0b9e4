// Reads YAML files keeping node positions, so that an error can name the line of the key at fault.
import { readFileSync } from 'node:fs';
import { isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import { HaplayError } from './errors.js';
import { bracketDepth, dataDepth, MAX_YAML_DEPTH } from './limits.js';

export interface Loaded {
  file: string;
  data: unknown;
  /** 1-based line of the key (or item) at a path, when it exists in the source. */
  lineOf(path: (string | number)[]): number | undefined;
}

export interface LoadOptions {
  /** Called with every value tagged `!secret`: it will be masked in all output. */
  onSecret?: (value: string) => void;
}

export function loadYamlFile(file: string, opts: LoadOptions = {}): Loaded {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HaplayError('E_FILE', err.code === 'ENOENT' ? 'file not found' : err.message, {
      where: { file },
      hint: err.code === 'ENOENT' ? 'check the path; relative paths are relative to the current directory' : undefined,
    });
  }
  return parseYaml(text, file, opts);
}

export function parseYaml(text: string, file: string, opts: LoadOptions = {}): Loaded {
  // The parser recurses per level: thousands of `[` take seconds and end in a stack overflow.
  if (bracketDepth(text, '[{', ']}', MAX_YAML_DEPTH) > MAX_YAML_DEPTH) throw tooDeep(file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    // yaml's own duplicate-key check compares every pair with every other (minutes on 100,000 keys):
    // done below with a set per mapping.
    uniqueKeys: false,
    customTags: [
      {
        tag: '!secret',
        identify: () => false,
        resolve(value: string) {
          opts.onSecret?.(value);
          return value;
        },
      },
      // `!secret` on a mapping or a list: every value in it (at any depth) is a secret; keys are names.
      { tag: '!secret', collection: 'map', identify: () => false, resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => secretLeaves(node, opts.onSecret) },
      { tag: '!secret', collection: 'seq', identify: () => false, resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => secretLeaves(node, opts.onSecret) },
    ],
  });
  // An unknown tag (`!secrte`) would be dropped silently and its value printed in clear: refused.
  const unknownTags = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (doc.errors.length || unknownTags.length) {
    const problems = [...doc.errors, ...unknownTags].map((e) => {
      const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
      return new HaplayError('E_YAML', e.message.split('\n')[0], {
        where: { file, line },
        hint: e.code === 'DUPLICATE_KEY' ? 'each key may appear once in a mapping' : 'check indentation and quoting around this line',
      });
    });
    const [head, ...more] = problems;
    throw new HaplayError(head.code, head.message, { where: head.where, hint: head.hint, more });
  }
  // A list or mapping as a key (`? [a]: 1`) has no meaning here, and yaml would print a warning
  // quoting it (a secret, maybe) while turning it into a string. A key given twice is an error.
  let badKey: { node: Node; message: string; hint: string } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (isCollection(pair.key)) {
          badKey = { node: pair.key, message: 'a key is a list or a mapping', hint: 'keys are names: write the key as plain text' };
          return visit.BREAK;
        }
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(k) && isScalar(pair.key)) {
          badKey = { node: pair.key, message: 'Map keys must be unique', hint: 'each key may appear once in a mapping' };
          return visit.BREAK;
        }
        seen.add(k);
      }
    },
  });
  if (badKey) {
    const range = badKey.node.range;
    throw new HaplayError('E_YAML', badKey.message, { where: { file, line: range ? lineCounter.linePos(range[0]).line : undefined }, hint: badKey.hint });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // An alias without its anchor, or aliases that expand beyond MAX_ALIAS_COUNT (an "alias bomb").
    const msg = (e as Error).message;
    const unresolved = /Unresolved alias.*?: (.*)$/.exec(msg);
    throw new HaplayError('E_YAML', unresolved ? `alias *${unresolved[1]} has no anchor &${unresolved[1]} before it` : `too many aliases: more than ${MAX_ALIAS_COUNT} expanded`, {
      where: { file, line: unresolved ? lineOfAlias(text, unresolved[1]) : undefined },
      hint: unresolved ? 'define the anchor (&name) before using the alias (*name)' : 'write the values out, or use fewer nested aliases',
    });
  }
  if (dataDepth(data, MAX_YAML_DEPTH) > MAX_YAML_DEPTH) throw tooDeep(file);
  return { file, data, lineOf: (path) => lineAt(doc, lineCounter, path) };
}

function tooDeep(file: string): HaplayError {
  return new HaplayError('E_YAML', `lists and mappings nested more than ${MAX_YAML_DEPTH} levels deep (or a value that contains itself through an alias)`, {
    where: { file },
    hint: 'playbooks and inventories need a few levels; flatten the data',
  });
}

/** Aliases a document may expand (yaml's own guard against exponential "billion laughs" documents). */
export const MAX_ALIAS_COUNT = 1000;

function lineOfAlias(text: string, name: string): number | undefined {
  const i = text.split('\n').findIndex((l) => l.includes(`*${name}`));
  return i < 0 ? undefined : i + 1;
}

function lineAt(doc: Document, lc: LineCounter, path: (string | number)[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as Node | null)?.range?.[0];
  for (const p of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(p));
      if (!pair) break;
      offset = (pair.key as Node).range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof p === 'number') {
      const item = node.items[p] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0];
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

function secretLeaves<T extends Node>(node: T, onSecret?: (value: string) => void): T {
  const visit = (n: unknown): void => {
    if (isScalar(n)) {
      if (n.value !== null && n.value !== undefined && typeof n.value !== 'object') onSecret?.(String(n.value));
    } else if (isMap(n)) {
      for (const it of n.items) visit(it.value);
    } else if (isSeq(n)) {
      for (const it of n.items) visit(it);
    }
  };
  visit(node);
  return node;
}
