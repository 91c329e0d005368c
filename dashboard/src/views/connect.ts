/**
 * Connect: the three environment variables for the signed-in credential's cache (the
 * servers are the keys of the stats answer; the password is the one typed at sign-in,
 * masked until revealed) and short client snippets that read them.
 */
import { h, setText } from '../dom.ts';
import type { MonitorState } from '../monitor.ts';
import { copyButton, pageHead } from './components.ts';
import type { AppContext, View } from './shell.ts';

const SNIPPETS: readonly { id: string; title: string; lang: string; note: string; code: string }[] = [
  {
    id: 'dalli', title: 'Ruby · Dalli', lang: 'ruby', note: 'gem install dalli',
    code: `require 'dalli'

cache = Dalli::Client.new(ENV['MEMCACHIER_SERVERS'].split(','),
  username: ENV['MEMCACHIER_USERNAME'],
  password: ENV['MEMCACHIER_PASSWORD'],
  failover: true, socket_timeout: 1.5)

cache.set('greeting', 'hello')
cache.get('greeting') # => "hello"`,
  },
  {
    id: 'pylibmc', title: 'Python · pylibmc', lang: 'python', note: 'pip install pylibmc',
    code: `import os, pylibmc

mc = pylibmc.Client(os.environ['MEMCACHIER_SERVERS'].split(','),
    binary=True,
    username=os.environ['MEMCACHIER_USERNAME'],
    password=os.environ['MEMCACHIER_PASSWORD'],
    behaviors={'ketama': True, 'tcp_nodelay': True})

mc.set('greeting', 'hello')
mc.get('greeting')  # 'hello'`,
  },
  {
    id: 'memjs', title: 'Node.js · memjs', lang: 'javascript', note: 'npm install memjs',
    code: `const memjs = require('memjs');

const mc = memjs.Client.create(process.env.MEMCACHIER_SERVERS, {
  username: process.env.MEMCACHIER_USERNAME,
  password: process.env.MEMCACHIER_PASSWORD,
  failover: true, timeout: 1, keepAlive: true,
});

await mc.set('greeting', 'hello', { expires: 0 });
const { value } = await mc.get('greeting'); // <Buffer 68 65 6c 6c 6f>`,
  },
  {
    id: 'php', title: 'PHP · php-memcached', lang: 'php', note: 'binary protocol; php.ini: memcached.use_sasl = 1',
    code: `<?php
$m = new Memcached('cachier');
$m->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
$m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
if (!$m->getServerList()) {
    foreach (explode(',', getenv('MEMCACHIER_SERVERS')) as $server) {
        [$host, $port] = explode(':', $server);
        $m->addServer($host, (int) $port);
    }
}
$m->setSaslAuthData(getenv('MEMCACHIER_USERNAME'), getenv('MEMCACHIER_PASSWORD'));

$m->set('greeting', 'hello');
echo $m->get('greeting');`,
  },
];

const MASK = '•'.repeat(16);

export function connectView(ctx: AppContext): View {
  const { username, password, sso } = ctx.session;
  let servers: string[] = [];
  let revealed = false;

  const serversValue = h('span', { class: 'env-value', id: 'env-servers' }, 'loading…');
  const passwordValue = h('span', { class: 'env-value', id: 'env-password', 'aria-label': 'Password, hidden' }, MASK);
  const reveal = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', id: 'reveal-password', 'aria-pressed': 'false', 'aria-controls': 'env-password' },
    'Show password');
  reveal.addEventListener('click', () => {
    revealed = !revealed;
    passwordValue.textContent = revealed ? password : MASK;
    passwordValue.setAttribute('aria-label', revealed ? 'Password' : 'Password, hidden');
    reveal.textContent = revealed ? 'Hide password' : 'Show password';
    reveal.setAttribute('aria-pressed', String(revealed));
  });
  if (sso) {
    // Signed in by a sign-in link: no password here (it was shown once, when the credential was made).
    passwordValue.textContent = '(not shown: signed in with a link)';
    passwordValue.setAttribute('aria-label', 'Password not shown: signed in with a link');
    reveal.hidden = true;
  }
  const envText = () => [
    `MEMCACHIER_SERVERS=${servers.join(',')}`,
    `MEMCACHIER_USERNAME=${username}`,
    `MEMCACHIER_PASSWORD=${password}`,
  ].join('\n');

  const env = h('section', { class: 'card panel', 'aria-labelledby': 'env-title' },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'env-title' }, 'Environment'),
        h('p', { class: 'panel-sub' }, `For credential ${username}. Set these in your app’s environment; every snippet below reads them.`)),
      h('div', { class: 'panel-actions' }, reveal, copyButton('Copy the environment variables', envText))),
    h('pre', { class: 'code env', id: 'env-block', 'aria-label': 'Environment variables' },
      h('code', {},
        h('span', { class: 'env-key' }, 'MEMCACHIER_SERVERS'), '=', serversValue, '\n',
        h('span', { class: 'env-key' }, 'MEMCACHIER_USERNAME'), '=', h('span', { class: 'env-value', id: 'env-username' }, username), '\n',
        h('span', { class: 'env-key' }, 'MEMCACHIER_PASSWORD'), '=', passwordValue)),
    h('p', { class: 'fine-print' },
      'Clients log in with SASL PLAIN over the binary protocol, or with MemCachier’s ASCII login: first command ',
      h('code', {}, 'set <username> 0 0 <length>'), ' with the password as the value. Clients spread keys over the servers themselves (consistent hashing).'),
  );

  const snippets = h('div', { class: 'snippets' }, SNIPPETS.map((s) => {
    const titleId = `snippet-${s.id}-title`;
    return h('section', { class: 'card snippet', id: `snippet-${s.id}`, 'aria-labelledby': titleId },
      h('div', { class: 'snippet-head' },
        h('div', {}, h('h2', { class: 'card-title', id: titleId }, s.title), h('p', { class: 'panel-sub' }, s.note)),
        copyButton(`Copy the ${s.title} snippet`, () => s.code)),
      h('pre', { class: 'code', 'data-lang': s.lang, tabindex: '0', 'aria-label': `${s.title} example` }, h('code', {}, s.code)));
  }));

  const el = h('div', { class: 'screen screen-connect' },
    pageHead('Connect', 'Point any memcache client at this cache.'),
    env,
    snippets,
  );

  function render(state: MonitorState): void {
    const fromStats = state.stats ? Object.keys(state.stats) : [];
    const fromHistory = [...new Set(state.history.map((r) => r.server))];
    const list = (fromStats.length ? fromStats : fromHistory).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    if (list.length) servers = list;
    setText(serversValue, servers.length ? servers.join(',') : state.statsError ? 'unavailable' : 'loading…');
  }
  const off = ctx.monitor.subscribe(render);
  render(ctx.monitor.state);
  return { el, destroy: off };
}
