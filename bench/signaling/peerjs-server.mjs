// Runs PeerJS server (npm `peer`) in a process of its own, as a deployment
// does with the package's `PeerServer`, on 127.0.0.1 and a free port. The
// API key comes from PEERJS_KEY. Prints "PeerJS server listening on URL"
// once it accepts connections.
//
// Settings, as a production deployment behind a TLS-terminating proxy sets them:
// - `key`: a random key of the deployment instead of the default "peerjs";
// - `allow_discovery: false`: no listing of connected peer ids (the default);
// - `concurrent_limit`: the default 5000 sockets, more than the benchmark opens;
// - `alive_timeout` 90 s, `expire_timeout` 5 s, `cleanup_out_msgs` 1 s:
//   the defaults, sized for the client's 5 s heartbeat;
// - no `ssl` and `proxied: false`: nothing sits in front of it here, as
//   nothing sits in front of video-local in this benchmark;
// - NODE_ENV=production, which the parent process sets for Express.

import { PeerServer } from 'peer';

const key = process.env.PEERJS_KEY;
if (!key) {
  console.error('PEERJS_KEY is not set: start this script through peerjs.mjs, which sets it');
  process.exit(2);
}

let errorCount = 0;
const server = PeerServer(
  {
    host: '127.0.0.1',
    port: 0,
    path: '/',
    key,
    allow_discovery: false,
    concurrent_limit: 5000,
    alive_timeout: 90_000,
    expire_timeout: 5_000,
    cleanup_out_msgs: 1_000,
    proxied: false,
  },
  (httpServer) => {
    console.log(`PeerJS server listening on http://127.0.0.1:${httpServer.address().port}`);
  },
);

// PeerServer re-emits socket and parsing errors here. Log the first few and count the rest.
server.on('error', (error) => {
  errorCount += 1;
  if (errorCount <= 10) console.error(`ERROR PeerJS server: ${error.message}`);
});

process.once('SIGTERM', () => {
  if (errorCount > 10) console.error(`ERROR PeerJS server: ${errorCount} errors in all`);
  process.exit(0);
});
