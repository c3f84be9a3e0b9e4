// assert, debug and set-fact: they read variables only, so they never plan a change.
import test from 'ava';
import { assert } from '../../src/plugins/assert.js';
import { debug } from '../../src/plugins/debug.js';
import { setFact } from '../../src/plugins/set-fact.js';
import { runCases } from '../helpers/plugin-cases.js';

const vars = { ha: { node_type: 'master', remote_address: '10.77.0.12' }, peers: ['a', 'b'], port: 5432 };

runCases(test, [
  {
    title: 'every expression true',
    plugin: assert,
    params: { that: ['ha.node_type == "master"', 'peers|length == 2', true] },
    vars,
    expect: { changes: [], commands: [], result: { msg: 'All assertions passed' } },
  },
  {
    title: 'a single expression as a string',
    plugin: assert,
    params: { that: 'port > 1024 and not (ha.remote_address == "")', success_msg: 'ready' },
    vars,
    expect: { changes: [], result: { msg: 'ready' } },
  },
  {
    title: 'the first false expression is named',
    plugin: assert,
    params: { that: ['port == 5432', 'ha.node_type == "slave"', 'missing.key == 1'] },
    vars,
    expect: { error: /^assertion failed: ha.node_type == "slave"$/, errorData: { assertion: 'ha.node_type == "slave"', evaluated_to: false } },
  },
  {
    title: 'fail_msg replaces the message',
    plugin: assert,
    params: { that: 'ha.node_type == "slave"', fail_msg: 'pbx1 is not the standby' },
    vars,
    expect: { error: /^pbx1 is not the standby$/ },
  },
  {
    title: 'quiet registers no message',
    plugin: assert,
    params: { that: 'true', quiet: true },
    expect: { changes: [], result: {} },
  },
  {
    title: 'a syntax error is an expression error',
    plugin: assert,
    params: { that: 'ha.node_type ==' },
    vars,
    expect: { error: /cannot evaluate "ha.node_type =="/ },
  },
  {
    title: 'that is required',
    plugin: assert,
    params: { fail_msg: 'x' },
    expect: { error: /assert\.that: missing required key "that"/ },
  },
  {
    title: 'debug msg that is not text: JSON in msg, the typed value in value',
    plugin: debug,
    params: { msg: { a: [1, 2] } },
    expect: { changes: [], result: { msg: '{"a":[1,2]}', value: { a: [1, 2] } }, noop: '{"a":[1,2]}' },
  },
  {
    title: 'debug free form',
    plugin: debug,
    params: 'pbx1 is master',
    expect: { changes: [], result: { msg: 'pbx1 is master' }, noop: 'pbx1 is master' },
  },
  {
    title: 'debug var with a dotted path',
    plugin: debug,
    params: { var: 'ha.remote_address' },
    vars,
    expect: { changes: [], result: { msg: '10.77.0.12', value: '10.77.0.12' } },
  },
  {
    title: 'debug var undefined says so',
    plugin: debug,
    params: { var: 'ha.nope' },
    vars,
    expect: { result: { msg: 'VARIABLE IS NOT DEFINED: ha.nope' } },
  },
  {
    title: 'debug with nothing says hello',
    plugin: debug,
    params: {},
    expect: { result: { msg: 'Hello world!' } },
  },
  {
    title: 'debug msg and var together are refused',
    plugin: debug,
    params: { msg: 'x', var: 'y' },
    expect: { error: /msg or var, not both/ },
  },
  {
    title: 'set-fact returns facts with their types',
    plugin: setFact,
    params: { main_ip: '10.77.0.11', replication_hour: 3, peers: ['a'] },
    expect: { changes: [], commands: [], result: { facts: { main_ip: '10.77.0.11', replication_hour: 3, peers: ['a'] } }, noop: 'set main_ip, replication_hour, peers' },
  },
  {
    title: 'set-fact refuses cacheable',
    plugin: setFact,
    params: { x: 1, cacheable: true },
    expect: { error: /does not support cacheable/ },
  },
  {
    title: 'set-fact refuses names that are not variables',
    plugin: setFact,
    params: { 'node-type': 'master' },
    expect: { error: /property name must be valid/ },
  },
  {
    title: 'set-fact needs at least one fact',
    plugin: setFact,
    params: {},
    expect: { error: /must NOT have fewer than 1 properties/ },
  },
]);
