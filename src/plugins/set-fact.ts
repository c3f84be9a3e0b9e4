// Sets host variables for the rest of the run. Nothing on the host changes, so it reports ok.
import { TaskFailed } from '../core/errors.js';
import type { Vars } from '../core/types.js';
import { definePlugin } from '../kit/index.js';

export type SetFactParams = Vars;

export const setFact = definePlugin<SetFactParams>({
  name: 'set-fact',
  description: 'Set host variables for the rest of the run (never changes anything)',
  doc: 'Every key becomes a variable of the host for the following tasks, with its type kept ("{{port}}" stays a number). Facts live for this run only: cacheable is not supported.',
  schema: {
    type: 'object',
    minProperties: 1,
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    additionalProperties: { description: 'A variable to set, with its value.' },
  },
  examples: [
    {
      title: 'Name the nodes by role',
      yaml: '- set-fact:\n    main_ip: "{{groups.main.0}}"\n    replication_hour: 3',
    },
  ],

  async plan(p) {
    if ('cacheable' in p) throw new TaskFailed('set-fact does not support cacheable: facts live for this run only');
    return { changes: [], result: { facts: { ...p } }, noop: `set ${Object.keys(p).join(', ')}` };
  },
});
