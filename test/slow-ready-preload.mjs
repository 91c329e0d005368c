// Preloaded (NODE_OPTIONS=--import) into `cachier start`'s node processes by
// node-processes-early-death.test.ts: holds back the `ready` IPC message of the node on
// port P by MS milliseconds (CACHIER_TEST_SLOW_READY=P:MS), so `start` still waits for that
// node while the test kills another that is already ready. Nothing else changes.
const [port, ms] = (process.env.CACHIER_TEST_SLOW_READY ?? '').split(':').map(Number);
if (process.send && port > 0) {
  const send = process.send.bind(process);
  process.send = (m, ...rest) => {
    if (m?.type === 'ready' && String(m.address).endsWith(`:${port}`)) {
      setTimeout(() => send(m, ...rest), ms);
      return true;
    }
    return send(m, ...rest);
  };
}
