-- Per-host rows, never replicated: the VoIP interface and the host name. psql variables: address, hostname.
UPDATE netiface SET address = :'address' WHERE ifname = 'eth0';
UPDATE resolvconf SET hostname = :'hostname';
UPDATE provisioning SET net4_ip = :'address';
