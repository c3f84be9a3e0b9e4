// The HA setup plugins, listed once for src/plugins/index.ts.
import type { Plugin } from '../../core/types.js';
import { haConfig } from '../ha-config.js';
import { provdTemplate } from '../provd-template.js';
import { service } from '../service.js';
import { sipExpiry } from '../sip-expiry.js';

export const haPlugins: Plugin[] = [haConfig, sipExpiry, provdTemplate, service];
