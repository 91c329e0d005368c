# Dalli (Ruby) — binary protocol; SASL PLAIN when a username is given.
#
# usage: ruby dalli_ops.rb SERVERS [USERNAME PASSWORD]
#   SERVERS: comma-separated host:port list (default $MEMCACHIER_SERVERS)
#
# Prints one JSON object: op name -> observed result (or {"error": "..."}),
# plus "stats_before"/"stats_after": server -> stats hash (numbers as integers).
require 'json'
require 'dalli'

servers = (ARGV[0] || ENV['MEMCACHIER_SERVERS'] || '').split(',').reject(&:empty?)
username = ARGV[1] || ENV['MEMCACHIER_USERNAME'] || ''
password = ARGV[2] || ENV['MEMCACHIER_PASSWORD'] || ''
abort 'dalli_ops: no servers given' if servers.empty?

opts = { socket_timeout: 2, socket_max_failures: 1, down_retry_delay: 60 }
unless username.empty?
  opts[:username] = username
  opts[:password] = password
end

Dalli.logger.level = Logger::WARN if Dalli.respond_to?(:logger)
client = Dalli::Client.new(servers, opts)
out = {}

def intify(stats)
  return nil if stats.nil?
  stats.transform_values { |v| v =~ /\A\d+\z/ ? v.to_i : v }
end

step = lambda do |name, &blk|
  begin
    out[name] = blk.call
  rescue StandardError => e
    out[name] = { 'error' => "#{e.class}: #{e.message}" }
  end
end

step.call('stats_before') { client.stats.transform_values { |s| intify(s) } }
step.call('set') { client.set('greeting', 'hello') ? true : false }
step.call('get') { client.get('greeting') }
step.call('get_missing') { client.get('no-such-key') }
step.call('fetch_miss') { client.fetch('fetched') { 'computed' } }
step.call('fetch_hit') do
  called = false
  v = client.fetch('fetched') { called = true; 'again' }
  { 'value' => v, 'block_called' => called }
end
step.call('incr_init') { client.incr('counter', 1, nil, 10) }
step.call('incr') { client.incr('counter', 5) }
step.call('decr') { client.decr('counter', 3) }
step.call('get_multi') { client.get_multi('greeting', 'fetched', 'no-such-key') }
step.call('stats_after') { client.stats.transform_values { |s| intify(s) } }
client.close

puts JSON.generate(out)
