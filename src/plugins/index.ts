// The plugins that ship with haplay. The engine's registry loads these first; names are unique.
import type { Plugin } from '../core/types.js';
import { assert } from './assert.js';
import { command } from './command.js';
import { debug } from './debug.js';
import { file } from './file/index.js';
import { haPlugins } from './ha/plugins.js';
import { haEngine } from './ha-engine/index.js';
import { haMonitor } from './ha-monitor/index.js';
import { logCheck } from './log-check/index.js';
import { pgReplicate } from './pg-replicate/index.js';
import { rsync } from './rsync/index.js';
import { setFact } from './set-fact.js';
import { waitFor } from './wait-for/index.js';

export const builtinPlugins: Plugin[] = [command, file, assert, debug, setFact, waitFor, pgReplicate, rsync, ...haPlugins, haMonitor, haEngine, logCheck];

export { assert, command, debug, file, haEngine, haMonitor, logCheck, pgReplicate, rsync, setFact, waitFor };
