// The plugins that ship with haplay. The CLI hands them to the registry (the engine imports no
// plugin); a command that needs none does not load them. Names are unique.
import type { Plugin } from '../core/types.js';
import { assert } from './assert.js';
import { command } from './command.js';
import { debug } from './debug.js';
import { file } from './file/index.js';
import { haConfig } from './ha-config.js';
import { haEngine } from './ha-engine/index.js';
import { haMonitor } from './ha-monitor/index.js';
import { logCheck } from './log-check/index.js';
import { pgReplicate } from './pg-replicate/index.js';
import { provdTemplate } from './provd-template.js';
import { rsync } from './rsync/index.js';
import { service } from './service.js';
import { setFact } from './set-fact.js';
import { sipExpiry } from './sip-expiry.js';
import { waitFor } from './wait-for/index.js';

export const builtinPlugins: Plugin[] = [
  command, file, assert, debug, setFact, waitFor, pgReplicate, rsync,
  haConfig, sipExpiry, provdTemplate, service,
  haMonitor, haEngine, logCheck,
];

export { assert, command, debug, file, haConfig, haEngine, haMonitor, logCheck, pgReplicate, provdTemplate, rsync, service, setFact, sipExpiry, waitFor };
