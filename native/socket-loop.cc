// The memcache port's socket loop (Linux): accept, read and write in C++, the protocol in JS.
//
// Why: a request/reply on loopback is two syscalls; through Node's net.Socket each also
// costs a stream push, a 'data' emit, a WriteWrap and a nextTick, which measured about
// as much CPU again as the syscalls themselves (the README's performance section). Here one epoll instance holds the listeners and connections of
// one node; libuv polls that epoll fd, and each time it is ready we drain a batch of
// events into a shared slab and an event array and call JS once for the whole batch.
// JS answers by calling write() synchronously: small replies are copied and sent when the
// batch's JS returns, larger ones (and writes outside a batch) with a plain send().
//
// This file moves bytes only: it never parses what clients send. Ownership: a
// connection's fd is closed here, exactly once, either on close() from JS or after
// reporting CLOSED (peer gone / error), after which JS never uses the id again.
//
// Half-close: a peer's FIN (read() == 0) is reported as END and the connection stays
// open for writing (no longer read), so JS answers every request it has read, as
// memcached does, and then calls end(): the connection closes once its replies are sent.
// When we had already ended our side, the FIN closes it as before.
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace {

// Event records handed to JS: [type, id, a, b].
enum EventType : int32_t { EV_ACCEPT = 1, EV_DATA = 2, EV_CLOSED = 3, EV_DRAIN = 4, EV_END = 5 };
constexpr int kRecordInts = 4;
// Reads smaller than this are not attempted: the rest waits for the next batch.
constexpr size_t kMinReadRoom = 16 * 1024;
constexpr size_t kMaxRead = 64 * 1024;
constexpr int kEpollBatch = 256;
// Batches per libuv wakeup before yielding to the rest of Node's loop (timers, HTTP).
constexpr int kMaxRoundsPerWakeup = 8;
constexpr uint64_t kListenerTag = 1ull << 32;
// Replies written during a batch are copied and sent after it (see Write), up to this
// many bytes per connection; bigger replies go out at once.
constexpr size_t kMaxDeferred = 16 * 1024;

struct Conn {
  int fd;
  bool reading = true;      // EPOLLIN wanted (JS may pause)
  bool ending = false;      // shut down writes once the queue is empty
  bool closeAfterFlush = false;  // peer is gone: close once the queue is empty
  bool peerEnded = false;   // the peer's FIN was read (END reported): never read again
  std::string queue;        // bytes send() did not take yet, or replies deferred (below)
  size_t queueAt = 0;
  bool deferred = false;    // `queue` holds replies of this batch, sent when the batch ends
};

struct Loop {
  napi_env env;
  int epfd = -1;
  uv_poll_t poll;
  bool closing = false;     // shutdown() asked for
  bool closed = false;      // everything released; calls from JS are no-ops
  bool pollClosed = false;  // libuv is done with `poll`
  bool retryClosed = false;  // libuv is done with `acceptRetry`
  bool finalized = false;   // the JS handle was collected
  bool inBatch = false;
  bool cleanupHook = false;  // registered with napi_add_env_cleanup_hook, not yet run or removed
  napi_ref callback = nullptr;
  napi_ref slabRef = nullptr;
  napi_ref eventsRef = nullptr;
  napi_async_context asyncContext = nullptr;
  uint8_t* slab = nullptr;
  size_t slabSize = 0;
  size_t slabUsed = 0;
  int32_t* events = nullptr;
  size_t eventCapacity = 0;  // records
  size_t eventCount = 0;
  int32_t nextId = 1;
  // Out of file descriptors: listeners are taken out of the epoll set (a ready listener we
  // cannot accept from would spin) until one of our connections closes, or the retry timer
  // fires: descriptors freed elsewhere in the process (the admin or HTTP port) count too.
  bool acceptPaused = false;
  uv_timer_t acceptRetry;
  std::unordered_map<int32_t, Conn*> conns;
  std::unordered_map<int32_t, int> listeners;  // id -> fd
  std::vector<int32_t> deferred;  // connections with replies to send when the batch ends
};

// ---- helpers ---------------------------------------------------------------------

napi_value Undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

napi_value Int(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

void ThrowErrno(napi_env env, const char* what, int err) {
  std::string msg = std::string(what) + ": " + strerror(err);
  napi_value code, message, error;
  napi_create_string_utf8(env, err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : "ESYSCALL", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg.c_str(), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_throw(env, error);
}

bool ArgLoop(napi_env env, napi_value v, Loop** out) {
  void* p = nullptr;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == nullptr) {
    napi_throw_type_error(env, nullptr, "socket-loop: not a loop");
    return false;
  }
  // A closed loop: calls are no-ops (the caller returns undefined / -1).
  *out = static_cast<Loop*>(p);
  return !(*out)->closed;
}

// Room for two records is kept before each epoll event is handled (EventsFull): one
// event can report a drain and then data or a close. A Push past the array would write
// over JS memory, so the invariant is checked, not assumed.
void Push(Loop* loop, int32_t type, int32_t id, int32_t a, int32_t b) {
  if (loop->eventCount >= loop->eventCapacity) {
    fprintf(stderr, "cachier socket-loop: event array overrun (%zu of %zu)\n", loop->eventCount, loop->eventCapacity);
    abort();
  }
  int32_t* r = loop->events + loop->eventCount * kRecordInts;
  r[0] = type;
  r[1] = id;
  r[2] = a;
  r[3] = b;
  loop->eventCount++;
}

// Full when fewer than two records are free: the most one epoll event pushes (see Push).
bool EventsFull(Loop* loop) { return loop->eventCount + 2 > loop->eventCapacity; }

// A connection or listener id not in use: ids wrap at INT32_MAX and skip live ones.
int32_t NewId(Loop* loop) {
  int32_t id;
  do {
    id = loop->nextId;
    loop->nextId = loop->nextId == INT32_MAX ? 1 : loop->nextId + 1;
  } while (loop->conns.count(id) || loop->listeners.count(id));
  return id;
}

void UpdateInterest(Loop* loop, int32_t id, Conn* c) {
  epoll_event ev{};
  // A connection to close once flushed waits for EPOLLOUT even when nothing is queued:
  // WriteReady then closes it and reports CLOSED from inside a round.
  bool waiting = !c->deferred && (c->queueAt < c->queue.size() || c->closeAfterFlush);
  ev.events = (c->reading ? uint32_t{EPOLLIN} : 0u) | (waiting ? uint32_t{EPOLLOUT} : 0u);
  ev.data.u64 = static_cast<uint32_t>(id);
  epoll_ctl(loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

constexpr uint64_t kAcceptRetryMs = 100;

void SetAccepting(Loop* loop, bool on);

void OnAcceptRetry(uv_timer_t* t) {
  Loop* loop = static_cast<Loop*>(t->data);
  if (!loop->closing && loop->acceptPaused) SetAccepting(loop, true);
}

void SetAccepting(Loop* loop, bool on) {
  loop->acceptPaused = !on;
  if (!on) uv_timer_start(&loop->acceptRetry, OnAcceptRetry, kAcceptRetryMs, 0);
  else uv_timer_stop(&loop->acceptRetry);
  for (auto& kv : loop->listeners) {
    epoll_event ev{};
    ev.events = on ? uint32_t{EPOLLIN} : 0u;
    ev.data.u64 = kListenerTag | static_cast<uint32_t>(kv.first);
    epoll_ctl(loop->epfd, EPOLL_CTL_MOD, kv.second, &ev);
  }
}

void Destroy(Loop* loop, int32_t id) {
  auto it = loop->conns.find(id);
  if (it == loop->conns.end()) return;
  Conn* c = it->second;
  epoll_ctl(loop->epfd, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  delete c;
  loop->conns.erase(it);
  if (loop->acceptPaused) SetAccepting(loop, true);
}

// Sends queued bytes; true when the queue is empty afterwards, false on EAGAIN.
// Returns -1 through *err on a fatal error.
bool FlushQueue(Conn* c, int* err) {
  *err = 0;
  while (c->queueAt < c->queue.size()) {
    ssize_t n = send(c->fd, c->queue.data() + c->queueAt, c->queue.size() - c->queueAt, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      *err = errno;
      return false;
    }
    c->queueAt += static_cast<size_t>(n);
  }
  c->queue.clear();
  c->queueAt = 0;
  return true;
}

// Sends what a connection's replies of this batch (or earlier ones, on the way out) left.
// A remainder waits for EPOLLOUT, as after any short send; an error surfaces there too.
void SendNow(Loop* loop, int32_t id, Conn* c) {
  c->deferred = false;
  int err;
  if (FlushQueue(c, &err) && !c->closeAfterFlush) {
    if (c->ending) shutdown(c->fd, SHUT_WR);
    return;
  }
  UpdateInterest(loop, id, c);
}

void SendDeferred(Loop* loop) {
  for (int32_t id : loop->deferred) {
    auto it = loop->conns.find(id);
    if (it != loop->conns.end() && it->second->deferred) SendNow(loop, id, it->second);
  }
  loop->deferred.clear();
}

// ---- the batch -------------------------------------------------------------------

void AcceptAll(Loop* loop, int32_t listenerId, int lfd) {
  while (!EventsFull(loop)) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) SetAccepting(loop, false);
      return;  // EAGAIN: nothing more to accept
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int32_t id = NewId(loop);
    Conn* c = new Conn();
    c->fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint32_t>(id);
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      delete c;
      continue;
    }
    loop->conns[id] = c;
    Push(loop, EV_ACCEPT, id, listenerId, 0);
  }
}

// Peer closed or failed: report once, unless replies are still queued (then after them).
void PeerGone(Loop* loop, int32_t id, Conn* c, int err) {
  if (err == 0 && c->queueAt < c->queue.size()) {
    c->closeAfterFlush = true;
    c->reading = false;
    UpdateInterest(loop, id, c);
    return;
  }
  Destroy(loop, id);
  Push(loop, EV_CLOSED, id, err, 0);
}

void ReadConn(Loop* loop, int32_t id, Conn* c) {
  size_t room = loop->slabSize - loop->slabUsed;
  if (room < kMinReadRoom) return;  // level-triggered: reported again next batch
  if (room > kMaxRead) room = kMaxRead;
  ssize_t n;
  do {
    n = read(c->fd, loop->slab + loop->slabUsed, room);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    Push(loop, EV_DATA, id, static_cast<int32_t>(loop->slabUsed), static_cast<int32_t>(n));
    loop->slabUsed += static_cast<size_t>(n);
  } else if (n == 0) {
    if (c->ending) {
      PeerGone(loop, id, c, 0);  // both sides done
      return;
    }
    // Half-close: JS answers what it has read, then end() closes after the replies.
    c->peerEnded = true;
    c->reading = false;
    UpdateInterest(loop, id, c);
    Push(loop, EV_END, id, 0, 0);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
    PeerGone(loop, id, c, errno);
  }
}

void WriteReady(Loop* loop, int32_t id, Conn* c) {
  int err;
  if (!FlushQueue(c, &err)) {
    if (err != 0) PeerGone(loop, id, c, err);
    return;
  }
  if (c->closeAfterFlush) {
    Destroy(loop, id);
    Push(loop, EV_CLOSED, id, 0, 0);
    return;
  }
  if (c->ending) shutdown(c->fd, SHUT_WR);
  UpdateInterest(loop, id, c);
  Push(loop, EV_DRAIN, id, 0, 0);
}

// One round: gather events, then one call into JS. Returns whether to go round again.
bool Round(Loop* loop) {
  epoll_event evs[kEpollBatch];
  loop->slabUsed = 0;
  loop->eventCount = 0;
  int n = epoll_wait(loop->epfd, evs, kEpollBatch, 0);
  if (n <= 0) return false;
  bool more = n == kEpollBatch;
  for (int i = 0; i < n; i++) {
    if (EventsFull(loop)) {
      more = true;
      break;
    }
    uint64_t tag = evs[i].data.u64;
    int32_t id = static_cast<int32_t>(tag & 0xffffffffu);
    if (tag & kListenerTag) {
      auto l = loop->listeners.find(id);
      if (l != loop->listeners.end()) AcceptAll(loop, id, l->second);
      continue;
    }
    auto it = loop->conns.find(id);
    if (it == loop->conns.end()) continue;
    Conn* c = it->second;
    uint32_t e = evs[i].events;
    if (e & EPOLLOUT) {
      WriteReady(loop, id, c);
      if (loop->conns.find(id) == loop->conns.end()) continue;
    }
    if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      if (c->reading) {
        size_t before = loop->slabUsed;
        ReadConn(loop, id, c);
        if (loop->slabUsed == before && loop->slabSize - loop->slabUsed < kMinReadRoom) more = true;
      } else if (e & (EPOLLHUP | EPOLLERR)) {
        PeerGone(loop, id, c, e & EPOLLERR ? ECONNRESET : 0);
      }
    }
  }
  if (loop->eventCount > 0) {
    napi_env env = loop->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value cb, recv, result;
    napi_get_reference_value(env, loop->callback, &cb);
    napi_get_global(env, &recv);
    napi_value argv[1] = {Int(env, static_cast<int64_t>(loop->eventCount))};
    loop->inBatch = true;
    // make_callback: JS exceptions surface as uncaught, and nextTicks/microtasks run after.
    napi_status st = napi_make_callback(env, loop->asyncContext, recv, cb, 1, argv, &result);
    loop->inBatch = false;
    SendDeferred(loop);
    if (st != napi_ok) {
      // JS threw out of the batch handler: report it as Node reports any uncaught error.
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
      napi_close_handle_scope(env, scope);
      return false;
    }
    napi_close_handle_scope(env, scope);
  }
  return more && !loop->closing;
}

// The Loop is freed when both libuv and the JS handle are done with it.
void OnPollClosed(uv_handle_t* h) {
  Loop* loop = static_cast<Loop*>(h->data);
  loop->pollClosed = true;
  if (loop->finalized && loop->retryClosed) delete loop;
}

void OnRetryClosed(uv_handle_t* h) {
  Loop* loop = static_cast<Loop*>(h->data);
  loop->retryClosed = true;
  if (loop->finalized && loop->pollClosed) delete loop;
}

void FinalizeLoop(napi_env, void* data, void*) {
  Loop* loop = static_cast<Loop*>(data);
  loop->finalized = true;
  if (loop->pollClosed && loop->retryClosed) delete loop;
}

void OnEnvCleanup(void* data);

void CloseAll(Loop* loop) {
  loop->closed = true;
  if (loop->cleanupHook) {
    loop->cleanupHook = false;
    napi_remove_env_cleanup_hook(loop->env, OnEnvCleanup, loop);
  }
  for (auto& kv : loop->conns) {
    close(kv.second->fd);
    delete kv.second;
  }
  loop->conns.clear();
  for (auto& kv : loop->listeners) close(kv.second);
  loop->listeners.clear();
  napi_env env = loop->env;
  if (loop->callback) napi_delete_reference(env, loop->callback);
  if (loop->slabRef) napi_delete_reference(env, loop->slabRef);
  if (loop->eventsRef) napi_delete_reference(env, loop->eventsRef);
  if (loop->asyncContext) napi_async_destroy(env, loop->asyncContext);
  loop->callback = loop->slabRef = loop->eventsRef = nullptr;
  loop->asyncContext = nullptr;
  // libuv stops watching the epoll fd before it is closed (a closed fd could be reused).
  uv_poll_stop(&loop->poll);
  close(loop->epfd);
  uv_close(reinterpret_cast<uv_handle_t*>(&loop->poll), OnPollClosed);
  uv_timer_stop(&loop->acceptRetry);
  uv_close(reinterpret_cast<uv_handle_t*>(&loop->acceptRetry), OnRetryClosed);
}

// The environment is going away (process exit, a worker ending) without shutdown():
// close every socket and hand the handles back to libuv.
void OnEnvCleanup(void* data) {
  Loop* loop = static_cast<Loop*>(data);
  loop->cleanupHook = false;
  loop->closing = true;
  if (!loop->closed) CloseAll(loop);
}

void OnReadable(uv_poll_t* handle, int status, int events) {
  Loop* loop = static_cast<Loop*>(handle->data);
  if (loop->closing) return;
  for (int round = 0; round < kMaxRoundsPerWakeup; round++) {
    if (!Round(loop) || loop->closing) break;
  }
  if (loop->closing && !loop->inBatch) CloseAll(loop);
}

// ---- exports ---------------------------------------------------------------------

// open(slab: Buffer, events: Int32Array, callback(count)) -> loop
napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 3) {
    napi_throw_type_error(env, nullptr, "open(slab, events, callback)");
    return nullptr;
  }
  Loop* loop = new Loop();
  loop->env = env;
  void* data;
  size_t len;
  if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok || len < 2 * kMaxRead) {
    delete loop;
    napi_throw_type_error(env, nullptr, "slab: a Buffer of at least 128 KiB");
    return nullptr;
  }
  loop->slab = static_cast<uint8_t*>(data);
  loop->slabSize = len;
  napi_typedarray_type type;
  size_t count, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, argv[1], &type, &count, &data, &ab, &offset) != napi_ok || type != napi_int32_array ||
      count < 64 * kRecordInts) {
    delete loop;
    napi_throw_type_error(env, nullptr, "events: an Int32Array of at least 256 ints");
    return nullptr;
  }
  loop->events = static_cast<int32_t*>(data);
  loop->eventCapacity = count / kRecordInts;
  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd < 0) {
    int err = errno;
    delete loop;
    ThrowErrno(env, "epoll_create1", err);
    return nullptr;
  }
  napi_create_reference(env, argv[0], 1, &loop->slabRef);
  napi_create_reference(env, argv[1], 1, &loop->eventsRef);
  napi_create_reference(env, argv[2], 1, &loop->callback);
  napi_value name;
  napi_create_string_utf8(env, "cachier:socket-loop", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &loop->asyncContext);
  uv_loop_t* uvloop;
  napi_get_uv_event_loop(env, &uvloop);
  uv_poll_init(uvloop, &loop->poll, loop->epfd);
  loop->poll.data = loop;
  uv_timer_init(uvloop, &loop->acceptRetry);
  loop->acceptRetry.data = loop;
  uv_unref(reinterpret_cast<uv_handle_t*>(&loop->acceptRetry));
  uv_poll_start(&loop->poll, UV_READABLE, OnReadable);
  if (napi_add_env_cleanup_hook(env, OnEnvCleanup, loop) == napi_ok) loop->cleanupHook = true;
  napi_value ext;
  napi_create_external(env, loop, FinalizeLoop, nullptr, &ext);
  return ext;
}

// The arguments of a call from JS: the loop, then up to three more (a connection id first,
// except for listen).
// `ok` is false for too few arguments or a closed loop (the call is then a no-op).
struct Call {
  napi_env env;
  size_t argc = 4;
  napi_value argv[4];
  Loop* loop = nullptr;
  bool ok = false;

  int32_t id = 0;  // the second argument, read once (listen's is its host instead)

  Call(napi_env e, napi_callback_info info, size_t need) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    ok = argc >= need && ArgLoop(env, argv[0], &loop);
    if (ok && need >= 2) napi_get_value_int32(env, argv[1], &id);
  }
  // The connection named by the second argument, or null when it is gone.
  Conn* conn() const {
    auto it = loop->conns.find(id);
    return it == loop->conns.end() ? nullptr : it->second;
  }
};

// listen(loop, host, port, backlog) -> [listenerId, port]
napi_value Listen(napi_env env, napi_callback_info info) {
  Call call(env, info, 4);
  if (!call.ok) return nullptr;
  Loop* loop = call.loop;
  char host[256];
  size_t hostLen = 0;
  int32_t port = 0, backlog = 0;
  if (napi_get_value_string_utf8(env, call.argv[1], host, sizeof host, &hostLen) != napi_ok ||
      napi_get_value_int32(env, call.argv[2], &port) != napi_ok || napi_get_value_int32(env, call.argv[3], &backlog) != napi_ok ||
      port < 0 || port > 65535) {
    napi_throw_type_error(env, nullptr, "listen(loop, host: string, port: 0..65535, backlog: int)");
    return nullptr;
  }
  std::string portStr = std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai = getaddrinfo(hostLen ? host : nullptr, portStr.c_str(), &hints, &res);
  if (gai != 0) {
    napi_value code, message, error;
    napi_create_string_utf8(env, "ENOTFOUND", NAPI_AUTO_LENGTH, &code);
    std::string msg = std::string("getaddrinfo ") + host + ": " + gai_strerror(gai);
    napi_create_string_utf8(env, msg.c_str(), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, code, message, &error);
    napi_throw(env, error);
    return nullptr;
  }
  int fd = -1, err = 0;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, backlog) == 0) break;
    err = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    ThrowErrno(env, "listen", err);
    return nullptr;
  }
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl);
  int actual = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  int32_t id = NewId(loop);
  epoll_event ev{};
  ev.events = loop->acceptPaused ? 0u : uint32_t{EPOLLIN};
  ev.data.u64 = kListenerTag | static_cast<uint32_t>(id);
  if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int e = errno;
    close(fd);
    ThrowErrno(env, "epoll_ctl", e);
    return nullptr;
  }
  loop->listeners[id] = fd;
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, Int(env, id));
  napi_set_element(env, out, 1, Int(env, actual));
  return out;
}

// write(loop, id, bytes) -> 1 sent, 0 queued (DRAIN follows), -1 connection gone
napi_value Write(napi_env env, napi_callback_info info) {
  Call call(env, info, 3);
  if (!call.ok) return Int(env, -1);
  Conn* c = call.conn();
  if (!c) return Int(env, -1);
  napi_typedarray_type type;
  size_t len, offset;
  void* data;
  napi_value ab;
  if (napi_get_typedarray_info(env, call.argv[2], &type, &len, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "write: a Uint8Array");
    return nullptr;
  }
  const char* p = static_cast<const char*>(data);
  // Inside a batch, small replies are only copied: the batch's sends then run together
  // after JS returns, rather than the kernel's loopback path running between every two
  // requests' JS (which measured ~1 us more user CPU per request: caches went cold).
  if (c->deferred && c->queue.size() + len > kMaxDeferred) SendNow(call.loop, call.id, c);
  if (c->deferred) {
    c->queue.append(p, len);
    return Int(env, 1);
  }
  if (c->queueAt < c->queue.size()) {
    c->queue.append(p, len);  // keep order behind what is already waiting
    return Int(env, 0);
  }
  if (call.loop->inBatch && len <= kMaxDeferred) {
    c->queue.assign(p, len);
    c->queueAt = 0;
    c->deferred = true;
    call.loop->deferred.push_back(call.id);
    return Int(env, 1);
  }
  size_t sent = 0;
  while (sent < len) {
    ssize_t n = send(c->fd, p + sent, len - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Int(env, -1);
    }
    sent += static_cast<size_t>(n);
  }
  if (sent == len) return Int(env, 1);
  c->queue.assign(p + sent, len - sent);
  c->queueAt = 0;
  UpdateInterest(call.loop, call.id, c);
  return Int(env, 0);
}

// pause(loop, id, paused): stop or restart reading.
napi_value Pause(napi_env env, napi_callback_info info) {
  Call call(env, info, 3);
  Conn* c = call.ok ? call.conn() : nullptr;
  if (!c || c->closeAfterFlush || c->peerEnded) return Undefined(env);
  bool paused = false;
  napi_get_value_bool(env, call.argv[2], &paused);
  if (c->reading == !paused) return Undefined(env);
  c->reading = !paused;
  UpdateInterest(call.loop, call.id, c);
  return Undefined(env);
}

// end(loop, id): FIN after the queued bytes; reading goes on so the peer's FIN is seen.
// After the peer's own FIN (END): close once the queued bytes are sent, reported as CLOSED.
napi_value End(napi_env env, napi_callback_info info) {
  Call call(env, info, 2);
  Conn* c = call.ok ? call.conn() : nullptr;
  if (!c) return Undefined(env);
  if (c->peerEnded) {
    c->closeAfterFlush = true;
    UpdateInterest(call.loop, call.id, c);
    return Undefined(env);
  }
  c->ending = true;
  if (c->queueAt >= c->queue.size()) shutdown(c->fd, SHUT_WR);
  if (!c->reading) {
    c->reading = true;
    UpdateInterest(call.loop, call.id, c);
  }
  return Undefined(env);
}

// close(loop, id): close a connection or listener now; no CLOSED event follows.
napi_value Close(napi_env env, napi_callback_info info) {
  Call call(env, info, 2);
  if (!call.ok) return Undefined(env);
  Loop* loop = call.loop;
  auto l = loop->listeners.find(call.id);
  if (l != loop->listeners.end()) {
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, l->second, nullptr);
    close(l->second);
    loop->listeners.erase(l);
  } else {
    Destroy(loop, call.id);
  }
  return Undefined(env);
}

// peer(loop, id) -> "address" or "" when unknown.
napi_value Peer(napi_env env, napi_callback_info info) {
  Call call(env, info, 2);
  Conn* c = call.ok ? call.conn() : nullptr;
  char text[INET6_ADDRSTRLEN] = "";
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  if (c && getpeername(c->fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
    } else if (ss.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text);
    }
  }
  napi_value str;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &str);
  return str;
}

// shutdown(loop): closes every connection and listener and frees the loop.
napi_value Shutdown(napi_env env, napi_callback_info info) {
  Call call(env, info, 1);
  if (!call.ok || call.loop->closing) return Undefined(env);
  call.loop->closing = true;
  // Called from inside a batch, the batch finishes first (OnReadable frees afterwards).
  if (!call.loop->inBatch) CloseAll(call.loop);
  return Undefined(env);
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"listen", nullptr, Listen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"write", nullptr, Write, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pause", nullptr, Pause, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"end", nullptr, End, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"peer", nullptr, Peer, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"shutdown", nullptr, Shutdown, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
