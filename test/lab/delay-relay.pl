#!/usr/bin/perl
# Relays Ethernet frames between two interfaces (AF_PACKET), holding those coming from the first one
# for MS milliseconds: `lab slow` on a kernel without sch_netem. Usage: delay-relay.pl HOSTSIDE BRIDGESIDE MS
use strict; use warnings;
use Socket; use IO::Select; use Time::HiRes qw(time);
my ($in, $out, $ms) = @ARGV;
my $delay = $ms / 1000;
sub ifindex { open(my $f, '<', "/sys/class/net/$_[0]/ifindex") or die "no $_[0]"; my $i = <$f>; chomp $i; return $i }
sub psock {
  socket(my $s, 17, SOCK_RAW, 0x0300) or die "socket: $!";   # AF_PACKET, ETH_P_ALL (network order)
  bind($s, pack('S n i S C C a8', 17, 3, ifindex($_[0]), 0, 0, 0, '')) or die "bind $_[0]: $!";
  return $s;
}
my ($a, $b) = (psock($in), psock($out));
my $sel = IO::Select->new($a, $b);
my @queue;   # [due, frame]
$0 = "hplab-delay-relay $in $out ${ms}ms";
while (1) {
  my $timeout = @queue ? $queue[0][0] - time() : 1;
  $timeout = 0 if $timeout < 0;
  for my $s ($sel->can_read($timeout)) {
    my $from = recv($s, my $buf, 65600, 0);
    next unless defined $from;
    my $pkttype = (unpack('S n i S C', $from))[4];
    next if $pkttype == 4;   # PACKET_OUTGOING: our own sends
    if ($s == $a) { push @queue, [time() + $delay, $buf] } else { send($a, $buf, 0) }
  }
  my $now = time();
  while (@queue && $queue[0][0] <= $now) { send($b, (shift @queue)->[1], 0) }
}
