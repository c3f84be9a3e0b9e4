// Checks expressions about the host's variables; fails naming the first one that is false.
import { TaskFailed } from '../core/errors.js';
import { definePlugin } from '../kit/index.js';

export interface AssertParams {
  that: string | boolean | (string | boolean)[];
  fail_msg?: string;
  success_msg: string;
  quiet: boolean;
}

const expression = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'boolean' }] };

export const assert = definePlugin<AssertParams>({
  name: 'assert',
  description: 'Fail unless every expression is true (never changes anything)',
  doc: 'Each expression uses the same syntax as `when` (jexl with and/or/not, filters such as |length and |defined). They are evaluated in order; the first false one fails the task and is named in the message, unless fail_msg says otherwise.',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['that'],
    properties: {
      that: {
        anyOf: [expression, { type: 'array', items: expression, minItems: 1 }],
        description: 'An expression, or a list of expressions that must all be true.',
      },
      fail_msg: { type: 'string', description: 'Message of the failure, instead of naming the false expression.' },
      success_msg: { type: 'string', default: 'All assertions passed', description: 'Message registered when every expression is true.' },
      quiet: { type: 'boolean', default: false, description: 'Register no message on success.' },
    },
  },
  examples: [
    {
      title: 'Both nodes agree on their roles',
      yaml: '- assert:\n    that:\n      - ha.node_type == "master"\n      - ha.remote_address == hostvars_standby_ip\n    fail_msg: "ha.conf on {{inventory_hostname}} does not make it the main node"',
    },
  ],

  async plan(p, ctx) {
    const list = Array.isArray(p.that) ? p.that : [p.that];
    for (const expr of list) {
      const value = typeof expr === 'boolean' ? expr : ctx.evaluate(expr);
      if (!value) {
        const assertion = String(expr);
        throw new TaskFailed(p.fail_msg ?? `assertion failed: ${assertion}`, { assertion, evaluated_to: value ?? null });
      }
    }
    const msg = p.quiet ? undefined : p.success_msg;
    return { changes: [], result: msg === undefined ? {} : { msg }, noop: msg ?? 'all assertions passed' };
  },
});
