// Shows a message or a variable. TaskResult.msg is a string in the contract, so a structured value
// is shown as JSON in msg and registered with its type kept in value.
import { definePlugin } from '../kit/index.js';
import type { Vars } from '../core/types.js';
import { TaskFailed } from '../core/errors.js';

export interface DebugParams {
  msg?: unknown;
  var?: string;
}

export const debug = definePlugin<DebugParams>({
  name: 'debug',
  description: 'Show a message or the value of a variable (never changes anything)',
  doc: 'msg is templated like every parameter, so it can show any expression of the host variables; var names a variable (dotted path allowed: ha.node_type). The registered result has msg (text; other values as JSON) and value (the value with its type kept).',
  freeForm: 'msg',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      msg: { description: 'What to show: text (templated) or any value. Defaults to "Hello world!" when var is not given either.' },
      var: { type: 'string', pattern: '^[A-Za-z_][\\w-]*(\\.[\\w-]+)*$', description: 'Name of a variable to show, e.g. ha or ha.node_type.' },
    },
  },
  examples: [
    { title: 'A message', yaml: '- debug:\n    msg: "{{inventory_hostname}} is {{ha.node_type}}"' },
    { title: 'A registered variable', yaml: '- debug:\n    var: cron.stdout_lines' },
  ],

  async plan(p, ctx) {
    if (p.msg !== undefined && p.var !== undefined) throw new TaskFailed('debug takes msg or var, not both');
    const value = p.var !== undefined ? lookup(ctx.host.vars, p.var) : (p.msg ?? 'Hello world!');
    const msg = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
    return { changes: [], result: { msg, value }, noop: msg };
  },
});

function lookup(vars: Vars, path: string): unknown {
  let cur: unknown = vars;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return `VARIABLE IS NOT DEFINED: ${path}`;
    cur = (cur as Vars)[part];
  }
  return cur;
}
