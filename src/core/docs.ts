// Plugin documentation generated from the plugin itself: its schema is the reference.
import type { JSONSchema, Plugin } from './types.js';

export function pluginList(plugins: Plugin[]): string {
  const width = Math.max(...plugins.map((p) => p.name.length));
  return ['Plugins (haplay plugins NAME for parameters and examples):', '', ...plugins.map((p) => `  ${p.name.padEnd(width)}  ${p.description}`)].join('\n');
}

export function pluginDoc(p: Plugin): string {
  const out: string[] = [`${p.name}: ${p.description}`, ''];
  if (p.doc) out.push(...p.doc.trim().split('\n'), '');
  const props = (p.schema.properties ?? {}) as Record<string, JSONSchema>;
  const required = new Set((p.schema.required as string[] | undefined) ?? []);
  out.push('Parameters:');
  if (!Object.keys(props).length) out.push('  (none)');
  for (const [name, s] of Object.entries(props)) {
    const flags = [typeOf(s), required.has(name) ? 'required' : undefined, s.default !== undefined ? `default ${JSON.stringify(s.default)}` : undefined]
      .filter(Boolean)
      .join(', ');
    out.push(`  ${name} (${flags})`);
    if (s.description) out.push(...wrap(String(s.description), 6));
  }
  if (p.freeForm) out.push('', `Short form: "${p.name}: VALUE" sets ${p.freeForm}.`);
  if (p.examples?.length) {
    out.push('', 'Examples:');
    for (const ex of p.examples) {
      out.push('', `  # ${ex.title}`, ...ex.yaml.trimEnd().split('\n').map((l) => '  ' + l));
    }
  }
  return out.join('\n');
}

function typeOf(s: JSONSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alts = (s.anyOf ?? s.oneOf) as JSONSchema[] | undefined;
  if (alts) return alts.map(typeOf).join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : String(s.type ?? 'any');
  if (t === 'array' && s.items) return `list of ${typeOf(s.items as JSONSchema)}`;
  return s.format ? `${t}, ${s.format}` : t;
}

function wrap(text: string, indent: number, width = 96): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/)) {
      if (line && line.length + word.length + 1 > width - indent) {
        lines.push(' '.repeat(indent) + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(' '.repeat(indent) + line);
  }
  return lines;
}
