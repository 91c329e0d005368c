<?php
// php-memcached (libmemcached) over the binary protocol, SASL PLAIN when a
// username is given. (php-memcached 3.x has no memcached.use_sasl ini any more:
// setSaslAuthData initialises SASL itself; the binary protocol must be on.)
//   php php_ops.php SERVERS [USERNAME PASSWORD]
// SERVERS: comma-separated host:port list (default $MEMCACHIER_SERVERS).
// Prints one JSON object: op name -> {"value": ..., "code": resultCode, "message": ...}.

$servers = $argv[1] ?? getenv('MEMCACHIER_SERVERS') ?: '';
$username = $argv[2] ?? (getenv('MEMCACHIER_USERNAME') ?: '');
$password = $argv[3] ?? (getenv('MEMCACHIER_PASSWORD') ?: '');
if ($servers === '') {
    fwrite(STDERR, "php_ops: no servers given\n");
    exit(2);
}

$m = new Memcached();
$m->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
$m->setOption(Memcached::OPT_CONNECT_TIMEOUT, 2000);
$m->setOption(Memcached::OPT_POLL_TIMEOUT, 2000);
$m->setOption(Memcached::OPT_RECV_TIMEOUT, 2000000);
$m->setOption(Memcached::OPT_SEND_TIMEOUT, 2000000);
$list = [];
foreach (explode(',', $servers) as $s) {
    if ($s === '') continue;
    $i = strrpos($s, ':');
    $list[] = [substr($s, 0, $i), (int)substr($s, $i + 1)];
}
$m->addServers($list);
$out = [];
if ($username !== '') {
    $out['set_sasl_auth_data'] = $m->setSaslAuthData($username, $password);
}

$step = function (string $name, callable $fn) use ($m, &$out) {
    try {
        $v = $fn();
        $out[$name] = ['value' => $v, 'code' => $m->getResultCode(), 'message' => $m->getResultMessage()];
    } catch (Throwable $e) {
        $out[$name] = ['error' => get_class($e) . ': ' . $e->getMessage()];
    }
};

$step('set', fn() => $m->set('greeting', 'hello'));
$step('get', fn() => $m->get('greeting'));
$step('get_missing', fn() => $m->get('no-such-key'));
$step('set_counter', fn() => $m->set('counter', 10));
$step('increment', fn() => $m->increment('counter', 5));
$step('decrement', fn() => $m->decrement('counter', 3));
$step('increment_init', fn() => $m->increment('fresh-counter', 1, 7));
$step('get_counter', fn() => $m->get('counter'));
$step('delete', fn() => $m->delete('greeting'));
$step('delete_again', fn() => $m->delete('greeting'));
$step('get_deleted', fn() => $m->get('greeting'));

echo json_encode($out), "\n";
