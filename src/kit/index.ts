// The plugin kit: what a plugin author (built-in or third-party, as `haplay/kit`) builds a plugin
// with. The contract itself (Plugin, Plan, Change, TaskContext, Fact) is `haplay/types`.
export { definePlugin, exactlyOne } from './define.js';
export { defineFact } from './facts.js';
export { commandFailed, failureLine, lastLine, runOrFail } from './run.js';
export { standbyFor, standbyPeer } from './standby.js';
export { sleep } from '../core/sleep.js';
export { bounded, NoAnswer, whyNoConnection } from './network.js';
export { TaskFailed } from '../core/errors.js';
export { quote } from '../core/shell.js';
