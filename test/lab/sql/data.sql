-- Sample data. psql variables: users, queues, agents, cel_rows, queue_log_rows (see postgres.ts profiles).
BEGIN;
INSERT INTO alembic_version VALUES (:'db_head');

-- Master tenant and its owner: insert both sides of the circular foreign key.
INSERT INTO auth_tenant (uuid, name, slug, parent_uuid) VALUES
  ('2f0d0c3a-5d2c-4c7e-9f0e-4a1d7c000001', 'master', 'master', '2f0d0c3a-5d2c-4c7e-9f0e-4a1d7c000001'),
  ('2f0d0c3a-5d2c-4c7e-9f0e-4a1d7c000002', 'avencall', 'avencall', '2f0d0c3a-5d2c-4c7e-9f0e-4a1d7c000001');
INSERT INTO auth_user (uuid, username, firstname, lastname, purpose, tenant_uuid) VALUES
  ('7a1e0c3a-5d2c-4c7e-9f0e-4a1d7c000001', 'root', '', '', 'internal', '2f0d0c3a-5d2c-4c7e-9f0e-4a1d7c000001'),
  ('7a1e0c3a-5d2c-4c7e-9f0e-4a1d7c000002', 'admin-avencall', 'Admin', 'Avencall', 'user', '2f0d0c3a-5d2c-4c7e-9f0e-4a1d7c000002');
UPDATE auth_tenant SET owner_user_uuid = '7a1e0c3a-5d2c-4c7e-9f0e-4a1d7c000001', default_user_uuid = '7a1e0c3a-5d2c-4c7e-9f0e-4a1d7c000001'
  WHERE slug = 'master';
UPDATE auth_tenant SET owner_user_uuid = '7a1e0c3a-5d2c-4c7e-9f0e-4a1d7c000002' WHERE slug = 'avencall';
INSERT INTO tenant (uuid) SELECT uuid FROM auth_tenant;
\set t '''2f0d0c3a-5d2c-4c7e-9f0e-4a1d7c000002'''

INSERT INTO context (name, displayname, contexttype, tenant_uuid) VALUES
  ('default', 'Default', 'internal', :t), ('from-extern', 'Incalls', 'incall', :t), ('to-extern', 'Outcalls', 'outcall', :t);

-- chan_sip general settings, HA disabled values (minexpiry 60, maxexpiry 3600, defaultexpiry 120).
INSERT INTO staticsip (cat_metric, var_metric, filename, category, var_name, var_val) VALUES
  (0, 0, 'sip.conf', 'general', 'context', 'default'),
  (0, 0, 'sip.conf', 'general', 'allowguest', 'no'),
  (0, 0, 'sip.conf', 'general', 'bindport', '5060'),
  (0, 0, 'sip.conf', 'general', 'bindaddr', '0.0.0.0'),
  (0, 0, 'sip.conf', 'general', 'realm', 'xivo'),
  (0, 0, 'sip.conf', 'general', 'useragent', 'XiVO PBX'),
  (0, 0, 'sip.conf', 'general', 'minexpiry', '60'),
  (0, 0, 'sip.conf', 'general', 'maxexpiry', '3600'),
  (0, 0, 'sip.conf', 'general', 'defaultexpiry', '120'),
  (0, 0, 'sip.conf', 'general', 'qualifyfreq', '60'),
  (0, 0, 'sip.conf', 'general', 'nat', 'no'),
  (0, 0, 'sip.conf', 'general', 'language', 'en_US');

INSERT INTO userfeatures (firstname, lastname, email, callerid, loginclient, passwdclient, language, description, tenant_uuid)
SELECT 'User' || i, 'Lab' || i, 'user' || i || '@lab.example', '"User' || i || ' Lab' || i || '"', 'user' || i, md5(i::text), 'en_US', '', :t
FROM generate_series(1, :users) i;

INSERT INTO endpoint_sip (name, label, tenant_uuid)
SELECT 'line' || lpad(i::text, 6, '0'), 'line ' || (1000 + i), :t FROM generate_series(1, :users) i;
INSERT INTO endpoint_sip_section (type, endpoint_sip_uuid) SELECT s.type, e.uuid FROM endpoint_sip e, (VALUES ('endpoint'), ('aor'), ('auth')) s(type);
INSERT INTO endpoint_sip_section_option (key, value, endpoint_sip_section_uuid)
SELECT o.key, o.value, s.uuid FROM endpoint_sip_section s
JOIN (VALUES ('endpoint', 'context', 'default'), ('endpoint', 'allow', 'ulaw,alaw'), ('aor', 'max_contacts', '1'),
             ('aor', 'qualify_frequency', '60'), ('auth', 'username', 'u'), ('auth', 'password', 'p')) o(type, key, value) ON o.type = s.type;

INSERT INTO usersip (tenant_uuid, name, context, secret) SELECT :t, 'line' || lpad(i::text, 6, '0'), 'default', md5('s' || i) FROM generate_series(1, :users) i;
INSERT INTO linefeatures (device, configregistrar, name, number, context, provisioningid, description, endpoint_sip_uuid)
SELECT md5('dev' || i), 'default', e.name, (1000 + i)::text, 'default', 100000 + i, '', e.uuid
FROM generate_series(1, :users) i JOIN endpoint_sip e ON e.name = 'line' || lpad(i::text, 6, '0');
INSERT INTO user_line (user_id, line_id, main_user, main_line) SELECT i, i, true, true FROM generate_series(1, :users) i;
INSERT INTO voicemail (context, mailbox, password, fullname, email)
SELECT 'default', (1000 + i)::text, lpad(i::text, 4, '0'), 'User' || i, 'user' || i || '@lab.example' FROM generate_series(1, least(:users, 50)) i;
UPDATE userfeatures SET voicemailid = id WHERE id <= least(:users, 50);
INSERT INTO extensions (context, exten, type, typeval) SELECT 'default', (1000 + i)::text, 'user', i::text FROM generate_series(1, :users) i;

INSERT INTO queuefeatures (tenant_uuid, name, displayname, number, context)
SELECT :t, 'queue' || i, 'Queue ' || i, (700000 + i)::text, 'default' FROM generate_series(1, :queues) i;
INSERT INTO queue (name, musicclass, strategy) SELECT 'queue' || i, 'default', 'ringall' FROM generate_series(1, :queues) i;
-- Queue numbers stay clear of user numbers (1001..1000+users) whatever the profile's user count.
INSERT INTO extensions (context, exten, type, typeval) SELECT 'default', (700000 + i)::text, 'queue', i::text FROM generate_series(1, :queues) i;
INSERT INTO agentfeatures (tenant_uuid, firstname, lastname, number, passwd, context)
SELECT :t, 'Agent' || i, 'Lab', (8000 + i)::text, '', 'default' FROM generate_series(1, :agents) i;
INSERT INTO queuemember (queue_name, interface, usertype, userid, category, position)
SELECT 'queue' || (1 + i % :queues), 'Agent/' || (8000 + i), 'agent', i, 'queue', i FROM generate_series(1, :agents) i;

INSERT INTO infos (uuid, wazo_version, timezone, configured) VALUES ('e1c2a4b8-0d9f-4c1b-8a77-5a0b1ab0c0de', '2025.10.00', 'Europe/Paris', true);
INSERT INTO provisioning (net4_ip, net4_ip_rest, rest_port, http_port) VALUES ('127.0.0.1', '127.0.0.1', 8666, 8667);
INSERT INTO stat_switchboard_queue ("time", end_type, wait_time, queue_id)
SELECT now() - i * interval '1 hour', 'abandoned', i % 60, 1 + i % :queues FROM generate_series(1, 100) i;
INSERT INTO stats_conf (name, tenant_uuid) VALUES ('default', :t);

-- Not replicated, per host (host-specific rows are set by host.sql).
INSERT INTO netiface (ifname, networktype, address, netmask, broadcast, gateway, mtu)
VALUES ('eth0', 'voip', '0.0.0.0', '255.255.0.0', '10.77.255.255', '10.77.0.1', 1500);
INSERT INTO resolvconf (hostname, domain, nameserver1, search) VALUES ('xivo', 'lab.example', '10.77.0.1', 'lab.example');
INSERT INTO dhcp (active, pool_start, pool_end) VALUES (0, '', '');
INSERT INTO mail (mydomain, origin) VALUES ('lab.example', 'xivo.lab.example');
INSERT INTO monitoring (maintenance, alert_emails, max_call_duration) VALUES (0, 'root@localhost', 0);
INSERT INTO session (sessid, start, expire, identifier, data)
SELECT md5('s' || i), 1700000000 + i, 1700003600 + i, 'root', '{}' FROM generate_series(1, 20) i;

INSERT INTO cel (eventtype, eventtime, cid_name, cid_num, exten, context, channame, uniqueid, linkedid)
SELECT (ARRAY['CHAN_START','ANSWER','HANGUP','CHAN_END','LINKEDID_END'])[1 + i % 5], now() - (i * interval '1 second'),
       'User' || (i % 300), (1000 + i % 300)::text, (1000 + (i * 7) % 300)::text, 'default',
       'PJSIP/line' || lpad((1 + i % 300)::text, 6, '0') || '-0000' || to_hex(i), '1700000000.' || (i / 5), '1700000000.' || (i / 5)
FROM generate_series(1, :cel_rows) i;
INSERT INTO queue_log ("time", callid, queuename, agent, event, data1, data2, data3)
SELECT now() - (i * interval '2 seconds'), '1700000000.' || (i / 4), 'queue' || (1 + i % :queues), 'Agent/' || (8000 + i % greatest(:agents, 1)),
       (ARRAY['ENTERQUEUE','CONNECT','COMPLETECALLER','ABANDON'])[1 + i % 4], (i % 30)::text, (i % 120)::text, '1'
FROM generate_series(1, :queue_log_rows) i;
INSERT INTO call_log (date, date_answer, date_end, source_name, source_exten, destination_name, destination_exten)
SELECT now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '5 seconds', now() - i * interval '1 minute' + interval '65 seconds',
       'User' || (i % 300), (1000 + i % 300)::text, 'User' || ((i * 7) % 300), (1000 + (i * 7) % 300)::text FROM generate_series(1, 500) i;
INSERT INTO call_log_participant (call_log_id, user_uuid, role) SELECT id, uuid_generate_v4(), 'source' FROM call_log;
INSERT INTO stat_agent (name, tenant_uuid, agent_id) SELECT 'Agent/' || (8000 + i), :t, i FROM generate_series(1, :agents) i;
INSERT INTO stat_queue (name, tenant_uuid, queue_id) SELECT 'queue' || i, :t, i FROM generate_series(1, :queues) i;
INSERT INTO stat_agent_periodic ("time", login_time, stat_agent_id) SELECT now() - (i % 24) * interval '1 hour', '01:00:00', 1 + i % :agents FROM generate_series(1, 200) i;
INSERT INTO stat_queue_periodic ("time", answered, total, stat_queue_id) SELECT now() - (i % 24) * interval '1 hour', i % 10, i % 12, 1 + i % :queues FROM generate_series(1, 200) i;
INSERT INTO stat_call_on_queue (callid, "time", status, stat_queue_id, stat_agent_id)
SELECT '1700000000.' || i, now() - i * interval '1 minute', 'answered', 1 + i % :queues, 1 + i % :agents FROM generate_series(1, 200) i;
COMMIT;
ANALYZE;
