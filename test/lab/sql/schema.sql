-- The asterisk database of a lab PBX: a slice of xivo-dao's models (domain.md §2, §12).
-- Tables replication copies (configuration) and tables it must not copy (network, support, logs, stats).
-- uuid-ossp is created by the superuser before this file runs.

CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);

-- wazo-auth, in the same database: the circular foreign key tenant <-> user, NOT DEFERRABLE.
CREATE TABLE auth_tenant (
  uuid uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
  name text,
  slug varchar(80) NOT NULL UNIQUE,
  parent_uuid uuid NOT NULL,
  default_authentication_method text NOT NULL DEFAULT 'native',
  domain_names text[] NOT NULL DEFAULT '{}'
);
CREATE TABLE auth_user (
  uuid uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
  username varchar(256) UNIQUE,
  firstname text, lastname text,
  password_hash text, password_salt bytea,
  purpose text NOT NULL DEFAULT 'user',
  enabled boolean NOT NULL DEFAULT true,
  tenant_uuid uuid NOT NULL REFERENCES auth_tenant(uuid) ON DELETE CASCADE
);
ALTER TABLE auth_tenant ADD COLUMN default_user_uuid uuid REFERENCES auth_user(uuid) ON DELETE SET NULL;
ALTER TABLE auth_tenant ADD COLUMN owner_user_uuid uuid REFERENCES auth_user(uuid) ON DELETE SET NULL;
ALTER TABLE auth_tenant ADD CONSTRAINT auth_tenant_parent_uuid_fkey FOREIGN KEY (parent_uuid) REFERENCES auth_tenant(uuid);

CREATE TABLE tenant (uuid uuid PRIMARY KEY REFERENCES auth_tenant(uuid) ON DELETE CASCADE, sip_templates_generated boolean DEFAULT false);

CREATE TABLE context (
  id serial PRIMARY KEY, name varchar(79) NOT NULL UNIQUE, displayname varchar(128), contexttype varchar(40) NOT NULL DEFAULT 'internal',
  commented integer NOT NULL DEFAULT 0, description text, tenant_uuid uuid NOT NULL REFERENCES tenant(uuid)
);
CREATE TABLE extensions (
  id serial PRIMARY KEY, commented integer NOT NULL DEFAULT 0, context varchar(79) NOT NULL DEFAULT '',
  exten varchar(40) NOT NULL DEFAULT '', type varchar(40) NOT NULL, typeval varchar(255) NOT NULL DEFAULT '',
  UNIQUE (exten, context)
);
CREATE TABLE endpoint_sip (
  uuid uuid PRIMARY KEY DEFAULT uuid_generate_v4(), label text, name text NOT NULL UNIQUE, asterisk_id text,
  tenant_uuid uuid NOT NULL REFERENCES tenant(uuid), template boolean DEFAULT false
);
CREATE TABLE endpoint_sip_section (
  uuid uuid PRIMARY KEY DEFAULT uuid_generate_v4(), type text NOT NULL,
  endpoint_sip_uuid uuid NOT NULL REFERENCES endpoint_sip(uuid) ON DELETE CASCADE, UNIQUE (type, endpoint_sip_uuid)
);
CREATE TABLE endpoint_sip_section_option (
  uuid uuid PRIMARY KEY DEFAULT uuid_generate_v4(), key text NOT NULL, value text NOT NULL,
  endpoint_sip_section_uuid uuid NOT NULL REFERENCES endpoint_sip_section(uuid) ON DELETE CASCADE
);
CREATE TABLE usersip (
  id serial PRIMARY KEY, tenant_uuid uuid NOT NULL REFERENCES tenant(uuid), name varchar(40) NOT NULL UNIQUE,
  type varchar(6) NOT NULL DEFAULT 'friend', context varchar(79), secret varchar(80) NOT NULL DEFAULT '',
  host varchar(255) NOT NULL DEFAULT 'dynamic', category varchar(5) NOT NULL DEFAULT 'user', commented integer NOT NULL DEFAULT 0
);
CREATE TABLE staticsip (
  id serial PRIMARY KEY, cat_metric integer NOT NULL DEFAULT 0, var_metric integer NOT NULL DEFAULT 0,
  commented integer NOT NULL DEFAULT 0, filename varchar(128) NOT NULL, category varchar(128) NOT NULL,
  var_name varchar(128) NOT NULL, var_val varchar(255)
);
CREATE TABLE userfeatures (
  id serial PRIMARY KEY, uuid uuid NOT NULL UNIQUE DEFAULT uuid_generate_v4(), firstname varchar(128) NOT NULL DEFAULT '',
  lastname varchar(128) NOT NULL DEFAULT '', email varchar(254), callerid varchar(160), outcallerid varchar(80) NOT NULL DEFAULT '',
  mobilephonenumber varchar(128) NOT NULL DEFAULT '', voicemailid integer, enableclient integer NOT NULL DEFAULT 0,
  loginclient varchar(254) NOT NULL DEFAULT '', passwdclient varchar(64) NOT NULL DEFAULT '', language varchar(20),
  ringseconds integer NOT NULL DEFAULT 30, simultcalls integer NOT NULL DEFAULT 5, enablehint integer NOT NULL DEFAULT 1,
  enablednd integer NOT NULL DEFAULT 0, enableunc integer NOT NULL DEFAULT 0, destunc varchar(128) NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '', commented integer NOT NULL DEFAULT 0, tenant_uuid uuid NOT NULL REFERENCES tenant(uuid)
);
CREATE TABLE linefeatures (
  id serial PRIMARY KEY, device varchar(32), configregistrar varchar(128), name varchar(128),
  number varchar(40), context varchar(79) NOT NULL, provisioningid integer NOT NULL, num integer DEFAULT 1,
  ipfrom varchar(15), commented integer NOT NULL DEFAULT 0, description text,
  endpoint_sip_uuid uuid REFERENCES endpoint_sip(uuid) ON DELETE SET NULL
);
CREATE TABLE user_line (
  user_id integer NOT NULL REFERENCES userfeatures(id), line_id integer NOT NULL REFERENCES linefeatures(id),
  main_user boolean NOT NULL, main_line boolean NOT NULL, PRIMARY KEY (user_id, line_id)
);
CREATE TABLE voicemail (
  uniqueid serial PRIMARY KEY, context varchar(79) NOT NULL, mailbox varchar(40) NOT NULL, password varchar(80),
  fullname varchar(80) NOT NULL DEFAULT '', email varchar(80), commented integer NOT NULL DEFAULT 0, UNIQUE (mailbox, context)
);
CREATE TABLE queuefeatures (
  id serial PRIMARY KEY, tenant_uuid uuid NOT NULL REFERENCES tenant(uuid), name varchar(128) NOT NULL UNIQUE,
  displayname varchar(128) NOT NULL, number varchar(40) DEFAULT '', context varchar(79), timeout integer DEFAULT 0
);
CREATE TABLE queue (
  name varchar(128) PRIMARY KEY, musicclass varchar(128), timeout integer DEFAULT 0, strategy varchar(11) NOT NULL DEFAULT 'ringall',
  category varchar(5) NOT NULL DEFAULT 'queue', commented integer NOT NULL DEFAULT 0
);
CREATE TABLE agentfeatures (
  id serial PRIMARY KEY, tenant_uuid uuid NOT NULL REFERENCES tenant(uuid), firstname varchar(128) NOT NULL DEFAULT '',
  lastname varchar(128) NOT NULL DEFAULT '', number varchar(40) NOT NULL, passwd varchar(128) NOT NULL DEFAULT '',
  context varchar(79) NOT NULL, language varchar(20) NOT NULL DEFAULT '', description text NOT NULL DEFAULT '', UNIQUE (number, tenant_uuid)
);
CREATE TABLE queuemember (
  queue_name varchar(128) NOT NULL, interface varchar(128) NOT NULL, penalty integer NOT NULL DEFAULT 0,
  usertype varchar(5) NOT NULL, userid integer NOT NULL, category varchar(5) NOT NULL, position integer NOT NULL DEFAULT 0,
  PRIMARY KEY (queue_name, interface)
);
CREATE TABLE infos (uuid varchar(38) PRIMARY KEY, wazo_version varchar(64) NOT NULL, live_reload_enabled boolean NOT NULL DEFAULT true,
  timezone varchar(128), configured boolean NOT NULL DEFAULT false);
CREATE TABLE provisioning (id serial PRIMARY KEY, net4_ip varchar(39), net4_ip_rest varchar(39) NOT NULL,
  dhcp_integration integer NOT NULL DEFAULT 0, rest_port integer NOT NULL, http_port integer NOT NULL,
  private integer NOT NULL DEFAULT 0, secure integer NOT NULL DEFAULT 0);
CREATE TABLE stat_switchboard_queue (id serial PRIMARY KEY, "time" timestamptz NOT NULL, end_type varchar(30) NOT NULL,
  wait_time float NOT NULL, queue_id integer NOT NULL REFERENCES queuefeatures(id) ON DELETE CASCADE);
CREATE TABLE stats_conf (id serial PRIMARY KEY, name varchar(64) NOT NULL UNIQUE, hour_start varchar(5) NOT NULL DEFAULT '08:00',
  hour_end varchar(5) NOT NULL DEFAULT '18:00', tenant_uuid uuid NOT NULL REFERENCES tenant(uuid));

-- Not replicated: network configuration (per host), support configuration, sessions.
CREATE TABLE netiface (id serial PRIMARY KEY, ifname varchar(64) NOT NULL UNIQUE, hwtypeid integer NOT NULL DEFAULT 65534,
  networktype varchar(16) NOT NULL DEFAULT 'voip', type varchar(64) NOT NULL DEFAULT 'iface', family varchar(64) NOT NULL DEFAULT 'inet',
  method varchar(64) DEFAULT 'static', address varchar(39), netmask varchar(39), broadcast varchar(15), gateway varchar(39),
  mtu integer, vlanrawdevice varchar(64), vlanid integer, options text NOT NULL DEFAULT '', disable integer NOT NULL DEFAULT 0,
  dcreate integer NOT NULL DEFAULT 0, description text);
CREATE TABLE resolvconf (id serial PRIMARY KEY, hostname varchar(63) DEFAULT 'xivo', domain varchar(255) NOT NULL DEFAULT '',
  nameserver1 varchar(255), nameserver2 varchar(255), nameserver3 varchar(255), search varchar(255), description text);
CREATE TABLE dhcp (id serial PRIMARY KEY, active integer NOT NULL DEFAULT 0, pool_start varchar(64) NOT NULL DEFAULT '',
  pool_end varchar(64) NOT NULL DEFAULT '', extra_ifaces varchar(255) NOT NULL DEFAULT '');
CREATE TABLE mail (id serial PRIMARY KEY, mydomain varchar(255) NOT NULL DEFAULT '0', origin varchar(255) NOT NULL DEFAULT 'xivo-clients.proformatique.com',
  relayhost varchar(255), fallback_relayhost varchar(255), canonical text NOT NULL DEFAULT '');
CREATE TABLE monitoring (id serial PRIMARY KEY, maintenance integer NOT NULL DEFAULT 0, alert_emails varchar(4096),
  dahdi_monitor_ports varchar(255), max_call_duration integer);
CREATE TABLE session (sessid char(32) PRIMARY KEY, start integer NOT NULL, expire integer NOT NULL, identifier varchar(255) NOT NULL, data text NOT NULL);

-- Not replicated: call logs, CEL, queue log, call-center statistics.
CREATE TABLE cel (id serial PRIMARY KEY, eventtype varchar(30) NOT NULL, eventtime timestamp NOT NULL, userdeftype varchar(255) NOT NULL DEFAULT '',
  cid_name varchar(80) NOT NULL, cid_num varchar(80) NOT NULL, cid_ani varchar(80) NOT NULL DEFAULT '', cid_rdnis varchar(80) NOT NULL DEFAULT '',
  cid_dnid varchar(80) NOT NULL DEFAULT '', exten varchar(80) NOT NULL, context varchar(80) NOT NULL, channame varchar(80) NOT NULL,
  appname varchar(80) NOT NULL DEFAULT '', appdata varchar(512) NOT NULL DEFAULT '', amaflags integer NOT NULL DEFAULT 0,
  accountcode varchar(20) NOT NULL DEFAULT '', peeraccount varchar(20) NOT NULL DEFAULT '', uniqueid varchar(150) NOT NULL,
  linkedid varchar(150) NOT NULL, userfield varchar(255) NOT NULL DEFAULT '', peer varchar(80) NOT NULL DEFAULT '', extra varchar(512),
  call_log_id integer);
CREATE INDEX cel__idx__linkedid ON cel (linkedid);
CREATE TABLE queue_log (id serial PRIMARY KEY, "time" timestamptz, callid varchar(80), queuename varchar(256), agent text, event varchar(20),
  data1 text, data2 text, data3 text, data4 text, data5 text);
CREATE INDEX queue_log__idx_time ON queue_log ("time");
CREATE TABLE call_log (id serial PRIMARY KEY, date timestamptz NOT NULL, date_answer timestamptz, date_end timestamptz,
  source_name varchar(255), source_exten varchar(255), destination_name varchar(255), destination_exten varchar(255),
  user_field varchar(255), direction varchar(255) NOT NULL DEFAULT 'internal');
CREATE TABLE call_log_participant (uuid uuid PRIMARY KEY DEFAULT uuid_generate_v4(), call_log_id integer NOT NULL REFERENCES call_log(id) ON DELETE CASCADE,
  user_uuid uuid NOT NULL, line_id integer, role varchar(16) NOT NULL, tags varchar(128)[] NOT NULL DEFAULT '{}', answered boolean NOT NULL DEFAULT false);
CREATE TABLE stat_agent (id serial PRIMARY KEY, name varchar(128) NOT NULL, tenant_uuid uuid NOT NULL, agent_id integer, deleted boolean NOT NULL DEFAULT false);
CREATE TABLE stat_queue (id serial PRIMARY KEY, name varchar(128) NOT NULL, tenant_uuid uuid NOT NULL, queue_id integer, deleted boolean NOT NULL DEFAULT false);
CREATE TABLE stat_agent_periodic (id serial PRIMARY KEY, "time" timestamptz NOT NULL, login_time interval NOT NULL DEFAULT '00:00:00',
  pause_time interval NOT NULL DEFAULT '00:00:00', wrapup_time interval NOT NULL DEFAULT '00:00:00', stat_agent_id integer REFERENCES stat_agent(id));
CREATE TABLE stat_queue_periodic (id serial PRIMARY KEY, "time" timestamptz NOT NULL, answered integer NOT NULL DEFAULT 0, abandoned integer NOT NULL DEFAULT 0,
  total integer NOT NULL DEFAULT 0, "full" integer NOT NULL DEFAULT 0, closed integer NOT NULL DEFAULT 0, joinempty integer NOT NULL DEFAULT 0,
  leaveempty integer NOT NULL DEFAULT 0, divert_ca_ratio integer NOT NULL DEFAULT 0, divert_waittime integer NOT NULL DEFAULT 0,
  timeout integer NOT NULL DEFAULT 0, stat_queue_id integer REFERENCES stat_queue(id));
CREATE TABLE stat_call_on_queue (id serial PRIMARY KEY, callid varchar(32) NOT NULL, "time" timestamptz NOT NULL, ringtime integer NOT NULL DEFAULT 0,
  talktime integer NOT NULL DEFAULT 0, waittime integer NOT NULL DEFAULT 0, status varchar(20) NOT NULL,
  stat_queue_id integer REFERENCES stat_queue(id), stat_agent_id integer REFERENCES stat_agent(id));

ALTER DATABASE asterisk SET timezone TO 'UTC';
